#include "webhook/service.h"

#include <array>

namespace weft::webhook {
namespace {

// Latency buckets in seconds: the target is well under 2 ms, the API server's
// timeout a few seconds.
const std::vector<double> kDurationBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                           0.005,  0.01,    0.025,  0.1,   1.0};

http::Response text(int status, std::string body) {
  return http::Response{status, std::move(body), "text/plain; charset=utf-8"};
}

}  // namespace

WebhookService::WebhookService(InjectorConfig config, Registry& registry, Logger& logger)
    : injector_(std::move(config)),
      registry_(registry),
      logger_(logger),
      reviews_(registry.counter("weft_webhook_reviews_total",
                                "AdmissionReviews answered, by result: injected, skipped, "
                                "denied, ignored (not a pod CREATE), bad_request (HTTP 400).",
                                {"result"})),
      bad_requests_(reviews_.with_labels({"bad_request"})),
      duration_(registry
                    .histogram("weft_webhook_review_duration_seconds",
                               "Time to parse a review, decide and build the patch.",
                               kDurationBuckets)
                    .get()),
      injections_(
          registry
              .counter("weft_webhook_injections_total", "Pods injected, by sidecar mode.", {"mode"})
              .with_labels({injector_.config().sidecar_mode == SidecarMode::kClassic ? "classic"
                                                                                     : "native"})),
      opt_outs_(registry.counter(
          "weft_webhook_opt_outs_total",
          "Capture opt-outs granted, by kind: inject_disabled, host_network, "
          "skip_inbound_ports, skip_outbound_ports, skip_subnets, network_admin (dryRun "
          "reviews included).",
          {"kind"})),
      probes_not_exempted_(registry
                               .counter("weft_webhook_probes_not_exempted_total",
                                        "HTTP probes of injected pods that a Strict MeshPolicy "
                                        "would refuse: HTTPS, unresolvable port, a path not "
                                        "matchable as sent, past 32 routes (each also a warning).")
                               .with_labels({})) {
  for (const auto* kind : {"inject_disabled", "host_network", "skip_inbound_ports",
                           "skip_outbound_ports", "skip_subnets", "network_admin"}) {
    opt_outs_.with_labels({kind});
  }
  // Every label value exists from the start, so dashboards see zeros, not gaps.
  for (const auto result : {ReviewResult::kInjected, ReviewResult::kSkipped, ReviewResult::kDenied,
                            ReviewResult::kIgnored}) {
    reviews_by_result_[static_cast<std::size_t>(result)] =
        &reviews_.with_labels({std::string(to_string(result))});
  }
}

http::Response WebhookService::review(const http::Request& request, Scope scope) {
  const auto start = std::chrono::steady_clock::now();
  if (request.method != "POST") {
    bad_requests_.inc();
    return text(405, "method " + request.method + " not allowed: POST an AdmissionReview\n");
  }
  auto parsed = parse_admission_review(request.body);
  if (!parsed) {
    bad_requests_.inc();
    logger_.warn("bad admission request", {{"error", parsed.error().message}});
    return text(400, "bad AdmissionReview: " + parsed.error().message + "\n");
  }
  const MutateResult result = injector_.mutate(*parsed, scope);
  std::string body = admission_response(parsed->uid, result.outcome);
  reviews_by_result_[static_cast<std::size_t>(result.result)]->inc();
  if (result.result == ReviewResult::kInjected) injections_.inc();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  duration_.observe(elapsed.count());
  probes_not_exempted_.inc(result.probes_not_exempted);
  // Every way out of the mesh is visible: a counter and a line each.
  for (const auto& opt_out : result.opt_outs) {
    opt_outs_.with_labels({opt_out.kind}).inc();
    logger_.info("capture opt-out granted", {{"kind", opt_out.kind},
                                             {"value", opt_out.value},
                                             {"namespace", parsed->namespace_name},
                                             {"name", parsed->name},
                                             {"uid", parsed->uid},
                                             {"dryRun", parsed->dry_run}});
  }

  // Injections and denials are worth a line each; skips only at debug.
  const LogLevel level = result.result == ReviewResult::kInjected ? LogLevel::kInfo
                         : result.result == ReviewResult::kDenied ? LogLevel::kWarn
                                                                  : LogLevel::kDebug;
  if (logger_.enabled(level)) {
    logger_.log(level, "review",
                {{"result", to_string(result.result)},
                 {"reason", result.reason},
                 {"namespace", parsed->namespace_name},
                 {"name", parsed->name},
                 {"uid", parsed->uid},
                 {"dryRun", parsed->dry_run}});
  }
  return http::Response{200, std::move(body), "application/json"};
}

void WebhookService::report_serving_certificate(std::filesystem::path cert_file) {
  serving_certificate_ =
      std::make_unique<ServingCertificateExpiry>(registry_, std::move(cert_file));
}

http::Routes WebhookService::routes() {
  http::Routes routes;
  routes[std::string(kMutatePath)] = [this](const http::Request& request) {
    return review(request, Scope::kNamespaceEnabled);
  };
  routes[std::string(kMutateOptInPath)] = [this](const http::Request& request) {
    return review(request, Scope::kPodOptIn);
  };
  routes["/healthz"] = [](const http::Request&) { return text(200, "ok\n"); };
  routes["/readyz"] = [this](const http::Request&) {
    return ready_.load() ? text(200, "ok\n") : text(503, "not ready: no serving certificate yet\n");
  };
  routes["/metrics"] = [this](const http::Request&) {
    if (serving_certificate_) serving_certificate_->refresh();
    return http::Response{200, registry_.expose(), std::string(kPrometheusContentType)};
  };
  return routes;
}

}  // namespace weft::webhook
