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

// Refusals that say the API server is failing us, not that the client is wrong.
bool review_trouble(std::string_view reason) {
  return reason == "review_failed" || reason == "review_timeout";
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
                                 IssuanceOptions options, ReviewPoolLimits reviews,
                                 SourceLimits per_source)
    : registry_(registry),
      logger_(logger),
      options_(std::move(options)),
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
          "token_refused, wrong_audience, not_service_account (401), too_many (the "
          "TokenReview queue is full), too_many_from_source (429), no_issuer, review_failed, "
          "review_timeout (no TokenReview answer within --token-review-timeout) (503).",
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
                            .get()),
      reviews_queued_(registry
                          .gauge("weft_identity_token_reviews_queued",
                                 "TokenReviews waiting for a review worker now "
                                 "(--max-queued-reviews at most).")
                          .get()),
      reviews_busy_(registry
                        .gauge("weft_identity_token_reviews_in_progress",
                               "Review workers busy with a TokenReview now "
                               "(--max-concurrent-reviews at most).")
                        .get()),
      reviews_(std::make_unique<ReviewPool>(*reviewer_, reviews)) {
  for (const auto* reason :
       {"no_token", "bad_request", "bad_csr", "token_refused", "wrong_audience",
        "not_service_account", "too_many", "too_many_from_source", "no_issuer", "review_failed",
        "review_timeout"}) {
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

void IdentityService::certificates(http::Request request, http::Respond respond) {
  const auto start = std::chrono::steady_clock::now();
  if (request.method != "POST") {
    respond(text(405, "method " + request.method + " not allowed: POST a certificate request\n"));
    return;
  }
  std::shared_ptr<LeafSigner> signer;
  std::string refusal;
  {
    std::lock_guard lock(mutex_);
    signer = signer_;
    refusal = refusal_;
  }
  auto admitted = admit_certificate_request(
      request.authorization, request.body, signer.get(), refusal, options_,
      std::chrono::system_clock::now(), [&] {
        return per_source_.admit(request.peer, SourceLimiter::Clock::now()) ==
               SourceLimiter::Verdict::kAdmitted;
      });
  if (const auto* refused = std::get_if<IssuanceOutcome>(&admitted)) {
    respond(finish(*refused, request.peer, start));
    return;
  }
  auto needed = std::make_shared<ReviewNeeded>(std::move(std::get<ReviewNeeded>(admitted)));
  const std::string token = needed->token;
  const bool queued =
      reviews_->submit(token, [this, needed, respond, peer = request.peer, start](ReviewEnd end) {
        respond(finish(reviewed(*needed, end), peer, start));
      });
  if (!queued) {
    // Every review worker is busy and the queue full: a moment later may do.
    auto outcome = refusal_outcome(429, "too_many", "too many certificate requests at once; retry");
    outcome.retry_after = std::chrono::seconds(1);
    respond(finish(outcome, request.peer, start));
  }
}

IssuanceOutcome IdentityService::reviewed(const ReviewNeeded& request, const ReviewEnd& end) {
  switch (end.kind) {
    case ReviewEnd::Kind::kAnswered: {
      std::shared_ptr<LeafSigner> signer;
      std::string refusal;
      {
        std::lock_guard lock(mutex_);
        signer = signer_;
        refusal = refusal_;
      }
      return complete_certificate_request(request, end.answer, signer.get(), refusal, options_,
                                          std::chrono::system_clock::now());
    }
    case ReviewEnd::Kind::kTimedOut: {
      auto outcome = refusal_outcome(503, "review_timeout",
                                     "the API server did not review the token in time; retry");
      outcome.detail = end.answer ? std::string() : end.answer.error().message;
      outcome.retry_after = std::chrono::seconds(1);
      return outcome;
    }
    case ReviewEnd::Kind::kStopped:
      break;
  }
  auto outcome = refusal_outcome(503, "review_failed", "weft-identity is stopping; retry");
  outcome.retry_after = std::chrono::seconds(1);
  return outcome;
}

http::Response IdentityService::finish(const IssuanceOutcome& outcome, const std::string& peer,
                                       std::chrono::steady_clock::time_point start) {
  duration_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (outcome.status == 200) {
    issued_.inc();
    logger_.info("certificate issued",
                 {{"identity", outcome.identity}, {"notAfter", outcome.not_after}});
  } else {
    refusals_.with_labels({outcome.reason}).inc();
    // A client decides how often a refusal happens, an API server how often
    // reviews fail: at most a line a second of each.
    LogThrottle& throttle = review_trouble(outcome.reason) ? review_log_ : refusal_log_;
    if (const auto skipped = throttle.admit(LogThrottle::Clock::now())) {
      logger_.warn(review_trouble(outcome.reason) ? "cannot review tokens" : "certificate refused",
                   {{"status", outcome.status},
                    {"reason", outcome.reason},
                    {"identity", outcome.identity},
                    {"client", peer},
                    {"detail", outcome.detail},
                    {"not_logged_since_last", *skipped}});
    }
  }
  return http::Response{outcome.status, outcome.body, "application/json", outcome.retry_after};
}

http::AsyncRoutes IdentityService::certificate_routes() {
  http::AsyncRoutes routes;
  routes[std::string(kCertificatesPath)] = [this](http::Request request, http::Respond respond) {
    certificates(std::move(request), std::move(respond));
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
    reviews_queued_.set(static_cast<double>(reviews_->queued()));
    reviews_busy_.set(static_cast<double>(reviews_->busy()));
    return http::Response{200, registry_.expose(), std::string(kPrometheusContentType)};
  };
  return routes;
}

}  // namespace weft::identity
