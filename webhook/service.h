#pragma once

// The webhook's HTTP endpoints over the pure core: /mutate and /mutate-opt-in
// (AdmissionReview in, AdmissionReview out), /healthz, /readyz, /metrics.

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>

#include "webhook/config.h"
#include "webhook/decision.h"
#include "webhook/mutate.h"
#include "webhook/serving_certificate.h"
#include "weft/http/server.h"
#include "weft/log.h"
#include "weft/metrics.h"

namespace weft::webhook {

// The paths the MutatingWebhookConfiguration's two webhooks call (see Scope).
inline constexpr std::string_view kMutatePath = "/mutate";
inline constexpr std::string_view kMutateOptInPath = "/mutate-opt-in";

class WebhookService {
 public:
  // config.sidecar_mode must be resolved. registry and logger outlive the service.
  WebhookService(InjectorConfig config, Registry& registry, Logger& logger);

  http::Routes routes();
  // /readyz answers 200 only once set (the serving certificate is in place).
  void set_ready(bool ready) { ready_.store(ready); }
  // /metrics reports this file's certificate expiry. Call before serving.
  void report_serving_certificate(std::filesystem::path cert_file);

  http::Response review(const http::Request& request, Scope scope);

 private:
  const Injector injector_;
  Registry& registry_;
  Logger& logger_;
  std::atomic<bool> ready_{false};
  Family<Counter>& reviews_;
  std::array<Counter*, 4> reviews_by_result_{};  // indexed by ReviewResult: no lookup per review
  Counter& bad_requests_;
  Histogram& duration_;
  Counter& injections_;
  Family<Counter>& opt_outs_;  // by kind (MutateResult::opt_outs)
  Counter& probes_not_exempted_;
  std::unique_ptr<ServingCertificateExpiry> serving_certificate_;
};

}  // namespace weft::webhook
