#pragma once

// weft-identity's HTTP endpoints over the issuance core: POST /v1/certificates
// (TLS port) and /metrics, /healthz, /ready (metrics port), with the metrics
// of issuance and of the trust chain's expiry.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "identity/issuance.h"
#include "identity/source_limiter.h"
#include "weft/http/server.h"
#include "weft/log.h"
#include "weft/log_throttle.h"
#include "weft/metrics.h"

namespace weft::identity {

inline constexpr std::string_view kCertificatesPath = "/v1/certificates";

class IdentityService {
 public:
  // registry, logger and reviewer outlive the service.
  IdentityService(Registry& registry, Logger& logger, TokenReviewer& reviewer,
                  IssuanceOptions options, int max_concurrent_reviews,
                  SourceLimits per_source = {.qps = 0});
  ~IdentityService();

  // The signer to use from now on, or none and why (thread-safe).
  void publish(std::shared_ptr<LeafSigner> signer, std::string refusal);
  bool ready() const;
  void set_issuer_expiry(std::optional<std::chrono::system_clock::time_point> not_after);
  void set_anchor_expiry(const std::vector<std::string>& names,
                         const std::vector<std::chrono::system_clock::time_point>& not_after);

  // Seconds the TokenReview client has waited for its rate limiter so far,
  // read at each scrape.
  void set_review_throttle_source(std::function<double()> source);

  http::Response certificates(const http::Request& request);
  http::Routes certificate_routes();
  http::Routes metrics_routes();

 private:
  class TimedReviewer;

  Registry& registry_;
  Logger& logger_;
  const IssuanceOptions options_;
  const int max_concurrent_reviews_;
  SourceLimiter per_source_;
  std::unique_ptr<TimedReviewer> reviewer_;
  std::atomic<int> in_flight_{0};
  LogThrottle refusal_log_{std::chrono::seconds(1)};

  mutable std::mutex mutex_;
  std::shared_ptr<LeafSigner> signer_;
  std::string refusal_ = "starting";
  std::vector<std::vector<std::string>> anchor_series_;  // exposed anchor label sets

  Histogram& duration_;
  Counter& issued_;
  Family<Counter>& refusals_;
  Gauge& can_issue_;
  Gauge& issuer_expiry_;
  Family<Gauge>& anchor_expiry_;
  Gauge& review_throttled_;
  std::function<double()> review_throttle_source_;
};

}  // namespace weft::identity
