#pragma once

// weft-identity's HTTP endpoints over the issuance core: POST /v1/certificates
// (TLS port) and /metrics, /healthz, /ready (metrics port), with the metrics
// of issuance and of the trust chain's expiry. A certificate request is
// checked on the server's thread up to its TokenReview, which is handed to
// the review pool (review_pool.h); the answer is given from there.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "identity/issuance.h"
#include "identity/review_pool.h"
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
                  IssuanceOptions options, ReviewPoolLimits reviews,
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

  // Answers through `respond`: at once when no TokenReview is needed (or the
  // review queue is full), else from the review pool.
  void certificates(http::Request request, http::Respond respond);
  http::AsyncRoutes certificate_routes();
  http::Routes metrics_routes();

 private:
  class TimedReviewer;

  // The request's answer once its review ended, signed by the issuer in use now.
  IssuanceOutcome reviewed(const ReviewNeeded& request, const ReviewEnd& end);
  // Counts and logs the outcome; the HTTP answer.
  http::Response finish(const IssuanceOutcome& outcome, const std::string& peer,
                        std::chrono::steady_clock::time_point start);

  Registry& registry_;
  Logger& logger_;
  const IssuanceOptions options_;
  SourceLimiter per_source_;
  std::unique_ptr<TimedReviewer> reviewer_;
  LogThrottle refusal_log_{std::chrono::seconds(1)};
  // Its own: clients' refusals must not hide that the API server is failing.
  LogThrottle review_log_{std::chrono::seconds(1)};

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
  Gauge& reviews_queued_;
  Gauge& reviews_busy_;
  std::function<double()> review_throttle_source_;

  // Declared last, so destroyed first: its workers call back into the above.
  std::unique_ptr<ReviewPool> reviews_;
};

}  // namespace weft::identity
