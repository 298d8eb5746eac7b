#include "identity/service.h"

#include <algorithm>

namespace weft::identity {
namespace {

// TokenReview latency, seconds: a local API server answers in about a
// millisecond, a loaded one in tens.
const std::vector<double> kReviewBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

double seconds_since_epoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

http::Response text(int status, std::string body) {
  return http::Response{status, std::move(body), "text/plain; charset=utf-8"};
}

http::Response json_response(int status, std::string body) {
  return http::Response{status, std::move(body), "application/json"};
}

}  // namespace

// Times every TokenReview into the histogram.
class IdentityService::TimedReviewer final : public TokenReviewer {
 public:
  TimedReviewer(TokenReviewer& inner, Histogram& duration) : inner_(inner), duration_(duration) {}
  Result<TokenReviewAnswer> review(std::string_view token) override {
    const auto start = std::chrono::steady_clock::now();
    auto answer = inner_.review(token);
    duration_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return answer;
  }

 private:
  TokenReviewer& inner_;
  Histogram& duration_;
};

IdentityService::IdentityService(Registry& registry, Logger& logger, TokenReviewer& reviewer,
                                 IssuanceOptions options, int max_concurrent_reviews,
                                 SourceLimits per_source)
    : registry_(registry),
      logger_(logger),
      options_(std::move(options)),
      max_concurrent_reviews_(max_concurrent_reviews),
      per_source_(per_source),
      reviewer_(std::make_unique<TimedReviewer>(
          reviewer,
          registry
              .histogram("weft_identity_token_review_duration_seconds",
                         "Time the API server took to answer a TokenReview.", kReviewBuckets)
              .get())),
      duration_(registry
                    .histogram("weft_identity_request_duration_seconds",
                               "Time to answer a certificate request, TokenReview included.",
                               kReviewBuckets)
                    .get()),
      issued_(registry
                  .counter("weft_identity_certificates_issued_total",
                           "Leaf certificates issued to proxies.")
                  .get()),
      refusals_(registry.counter(
          "weft_identity_refusals_total",
          "Certificate requests refused, by reason: no_token, bad_request, bad_csr (400), "
          "token_refused, wrong_audience, not_service_account (401), too_many, "
          "too_many_from_source (429), "
          "no_issuer, review_failed (503).",
          {"reason"})),
      can_issue_(registry
                     .gauge("weft_identity_ready",
                            "1 while a valid issuer is in use, 0 while issuing is refused.")
                     .get()),
      issuer_expiry_(registry
                         .gauge("identity_issuer_expiration_timestamp_seconds",
                                "When the issuer in use expires (Unix time); 0 when none.")
                         .get()),
      anchor_expiry_(registry.gauge(
          "identity_trust_anchor_expiration_timestamp_seconds",
          "When each trust anchor of the bundle expires (Unix time), by its subject.", {"anchor"})),
      review_throttled_(registry
                            .gauge("weft_identity_token_review_throttled_seconds",
                                   "Time TokenReviews waited for the client-side rate limit "
                                   "(--review-qps, --review-burst), in total.")
                            .get()) {
  for (const auto* reason :
       {"no_token", "bad_request", "bad_csr", "token_refused", "wrong_audience",
        "not_service_account", "too_many", "too_many_from_source", "no_issuer", "review_failed"}) {
    refusals_.with_labels({reason});
  }
}

IdentityService::~IdentityService() = default;

void IdentityService::publish(std::shared_ptr<LeafSigner> signer, std::string refusal) {
  std::lock_guard lock(mutex_);
  can_issue_.set(signer ? 1 : 0);
  signer_ = std::move(signer);
  refusal_ = std::move(refusal);
}

bool IdentityService::ready() const {
  std::lock_guard lock(mutex_);
  return signer_ != nullptr;
}

void IdentityService::set_issuer_expiry(
    std::optional<std::chrono::system_clock::time_point> not_after) {
  issuer_expiry_.set(not_after ? seconds_since_epoch(*not_after) : 0);
}

void IdentityService::set_anchor_expiry(
    const std::vector<std::string>& names,
    const std::vector<std::chrono::system_clock::time_point>& not_after) {
  std::lock_guard lock(mutex_);
  for (const auto& labels : anchor_series_) anchor_expiry_.remove(labels);
  anchor_series_.clear();
  for (std::size_t i = 0; i < names.size() && i < not_after.size(); ++i) {
    std::vector<std::string> labels{names[i]};
    // Two anchors with one subject (a rotation that kept the name) stay apart.
    if (std::find(anchor_series_.begin(), anchor_series_.end(), labels) != anchor_series_.end()) {
      labels[0] += " #" + std::to_string(i + 1);
    }
    anchor_expiry_.with_labels(labels).set(seconds_since_epoch(not_after[i]));
    anchor_series_.push_back(std::move(labels));
  }
}

void IdentityService::set_review_throttle_source(std::function<double()> source) {
  std::lock_guard lock(mutex_);
  review_throttle_source_ = std::move(source);
}

http::Response IdentityService::certificates(const http::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  if (request.method != "POST") {
    return text(405, "method " + request.method + " not allowed: POST a certificate request\n");
  }
  // Bounds the TokenReviews this replica makes at once: a flood of requests
  // turns into 429s here, not into load on the API server.
  struct InFlight {
    std::atomic<int>& count;
    ~InFlight() { count.fetch_sub(1); }
  } in_flight{in_flight_};
  if (in_flight_.fetch_add(1) >= max_concurrent_reviews_) {
    refusals_.with_labels({"too_many"}).inc();
    return json_response(429, R"({"error":"too many certificate requests at once; retry"})");
  }
  std::shared_ptr<LeafSigner> signer;
  std::string refusal;
  {
    std::lock_guard lock(mutex_);
    signer = signer_;
    refusal = refusal_;
  }
  const IssuanceOutcome outcome =
      issue_certificate(request.authorization, request.body, *reviewer_, signer.get(), refusal,
                        options_, std::chrono::system_clock::now(), [&] {
                          return per_source_.admit(request.peer, SourceLimiter::Clock::now()) ==
                                 SourceLimiter::Verdict::kAdmitted;
                        });
  duration_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (outcome.status == 200) {
    issued_.inc();
    logger_.info("certificate issued",
                 {{"identity", outcome.identity}, {"notAfter", outcome.not_after}});
  } else {
    refusals_.with_labels({outcome.reason}).inc();
    // A client decides how often this happens: at most a line a second.
    if (const auto skipped = refusal_log_.admit(LogThrottle::Clock::now())) {
      logger_.warn("certificate refused", {{"status", outcome.status},
                                           {"reason", outcome.reason},
                                           {"identity", outcome.identity},
                                           {"client", request.peer},
                                           {"detail", outcome.detail},
                                           {"not_logged_since_last", *skipped}});
    }
  }
  return json_response(outcome.status, outcome.body);
}

http::Routes IdentityService::certificate_routes() {
  http::Routes routes;
  routes[std::string(kCertificatesPath)] = [this](const http::Request& request) {
    return certificates(request);
  };
  return routes;
}

http::Routes IdentityService::metrics_routes() {
  http::Routes routes;
  routes["/healthz"] = [](const http::Request&) { return text(200, "ok\n"); };
  routes["/ready"] = [this](const http::Request&) {
    std::lock_guard lock(mutex_);
    return signer_ ? text(200, "ok\n") : text(503, "not ready: " + refusal_ + "\n");
  };
  routes["/metrics"] = [this](const http::Request&) {
    {
      std::lock_guard lock(mutex_);
      if (review_throttle_source_) review_throttled_.set(review_throttle_source_());
    }
    return http::Response{200, registry_.expose(), std::string(kPrometheusContentType)};
  };
  return routes;
}

}  // namespace weft::identity
