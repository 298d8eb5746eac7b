#include "identity/service.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test/unit/identity/test_requests.h"
#include "test/unit/identity/test_service.h"

using namespace weft;
using namespace weft::identity;
using testing::answer_of;
using testing::EchoSigner;
using testing::eventually;
using testing::GateReviewer;

namespace {

http::Request post(std::string token = testing::token_for("shop", "web",
                                                          std::chrono::system_clock::now()),
                   std::string peer = "10.244.0.7") {
  http::Request request;
  request.method = "POST";
  request.path = std::string(kCertificatesPath);
  request.authorization = "Bearer " + token;
  request.body = nlohmann::json{{"csr", testing::real_csr()}}.dump();
  request.peer = std::move(peer);
  return request;
}

struct Fixture {
  explicit Fixture(ReviewPoolLimits reviews = {.workers = 2, .queue = 1})
      : service{registry,          logger,  reviewer,
                IssuanceOptions{}, reviews, SourceLimits{.qps = 0.001, .burst = 3}} {}
  // Held reviews end before the service waits for them.
  ~Fixture() { reviewer.release(); }

  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  GateReviewer reviewer;
  IdentityService service;

  std::string metrics() { return service.metrics_routes()["/metrics"](http::Request{}).body; }
  int ready() { return service.metrics_routes()["/ready"](http::Request{}).status; }
};

}  // namespace

TEST_CASE("not ready, with the reason, until an issuer is published", "[identity][service]") {
  Fixture f;
  CHECK(f.ready() == 503);
  f.service.publish(nullptr, "Secret weft-identity-issuer: tls.key is not the key of tls.crt");
  const auto answer = f.service.metrics_routes()["/ready"](http::Request{});
  CHECK(answer.status == 503);
  CHECK_THAT(answer.body, Catch::Contains("tls.key is not the key"));
  const auto refused = answer_of(f.service, post());
  CHECK(refused.status == 503);
  CHECK_THAT(refused.body, Catch::Contains("tls.key is not the key"));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_refusals_total{reason=\"no_issuer\"} 1"));

  f.service.publish(std::make_shared<EchoSigner>(), "");
  CHECK(f.ready() == 200);
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_ready 1"));
}

TEST_CASE("an issued leaf is counted and logged with its identity, never the token",
          "[identity][service]") {
  Fixture f;
  f.service.publish(std::make_shared<EchoSigner>(), "");
  const std::string token =
      testing::token_for("shop", "very-secret-token", std::chrono::system_clock::now());
  const auto answer = answer_of(f.service, post(token));
  CHECK(answer.status == 200);
  CHECK(answer.content_type == "application/json");
  CHECK(nlohmann::json::parse(answer.body)["identity"] == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_certificates_issued_total 1"));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_token_review_duration_seconds_count 1"));
  CHECK_THAT(f.log_text.str(), Catch::Contains("spiffe://cluster.local/ns/shop/sa/web"));
  CHECK(f.log_text.str().find(token) == std::string::npos);
  CHECK(f.log_text.str().find("very-secret-token") == std::string::npos);
}

TEST_CASE("only POST", "[identity][service]") {
  Fixture f;
  auto request = post();
  request.method = "GET";
  CHECK(answer_of(f.service, request).status == 405);
}

http::Request post_from(std::string peer) {
  return post(testing::token_for("shop", "web", std::chrono::system_clock::now()), std::move(peer));
}

TEST_CASE("TokenReviews beyond the workers wait in the queue, beyond it get 429 at once",
          "[identity][service]") {
  Fixture f;  // 2 workers, 1 place in the queue
  f.service.publish(std::make_shared<EchoSigner>(), "");
  f.reviewer.hold();
  std::vector<std::future<http::Response>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::async(std::launch::async, [&f, i] {
      return answer_of(f.service, post_from("10.244.1." + std::to_string(i)));
    }));
  }
  REQUIRE(f.reviewer.wait_for_waiting(2));
  REQUIRE(eventually([&] {
    return f.metrics().find("weft_identity_token_reviews_queued 1") != std::string::npos;
  }));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_token_reviews_in_progress 2"));
  const auto refused = answer_of(f.service, post_from("10.244.1.9"));
  CHECK(refused.status == 429);
  CHECK(refused.retry_after == std::chrono::seconds(1));
  CHECK_THAT(refused.body, Catch::Contains("too many certificate requests at once"));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_refusals_total{reason=\"too_many\"} 1"));
  f.reviewer.release();
  for (auto& answer : held) CHECK(answer.get().status == 200);
  CHECK(f.reviewer.answered() == 3);
  // The places are given back.
  CHECK(answer_of(f.service, post_from("10.244.1.8")).status == 200);
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_token_reviews_queued 0"));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_token_reviews_in_progress 0"));
}

TEST_CASE("a TokenReview without answer in time is a 503, counted and logged at most once a second",
          "[identity][service]") {
  Fixture f({.workers = 1, .queue = 4, .timeout = std::chrono::milliseconds(200)});
  f.service.publish(std::make_shared<EchoSigner>(), "");
  f.reviewer.hold();
  // The first waits on the held worker, the second in the queue: both get
  // their 503 when their time is up, the second without a review ever made.
  auto first =
      std::async(std::launch::async, [&] { return answer_of(f.service, post_from("10.244.2.1")); });
  REQUIRE(f.reviewer.wait_for_waiting(1));
  const auto second = answer_of(f.service, post_from("10.244.2.2"));
  CHECK(second.status == 503);
  CHECK(second.retry_after == std::chrono::seconds(1));
  CHECK_THAT(second.body, Catch::Contains("did not review the token in time"));
  const auto timed_out = first.get();
  CHECK(timed_out.status == 503);
  CHECK_THAT(f.metrics(),
             Catch::Contains("weft_identity_refusals_total{reason=\"review_timeout\"} 2"));
  CHECK(f.reviewer.started() == 1);
  std::istringstream lines(f.log_text.str());
  int trouble_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    trouble_lines += line.find("cannot review tokens") != std::string::npos;
  }
  CHECK(trouble_lines >= 1);
  CHECK(trouble_lines <= 2);
  // The late answer is dropped: nothing is issued to a caller that has gone.
  f.reviewer.release();
  REQUIRE(eventually([&] { return f.reviewer.answered() == 1; }));
  CHECK(eventually([&] {
    return f.metrics().find("weft_identity_token_reviews_in_progress 0") != std::string::npos;
  }));
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_certificates_issued_total 0"));
}

TEST_CASE("a request answered without a review never reaches the queue", "[identity][service]") {
  Fixture f({.workers = 1, .queue = 0});
  f.service.publish(std::make_shared<EchoSigner>(), "");
  f.reviewer.hold();
  auto held =
      std::async(std::launch::async, [&] { return answer_of(f.service, post_from("10.244.3.1")); });
  REQUIRE(f.reviewer.wait_for_waiting(1));
  // Refused from the token alone (401), not as too_many.
  auto request = post_from("10.244.3.2");
  request.authorization.clear();
  CHECK(answer_of(f.service, request).status == 401);
  f.reviewer.release();
  CHECK(held.get().status == 200);
}

TEST_CASE("one address flooding with tokens spends its own review budget only",
          "[identity][service]") {
  Fixture f;
  f.service.publish(std::make_shared<EchoSigner>(), "");
  for (int i = 0; i < 3; ++i) CHECK(answer_of(f.service, post()).status == 200);
  const auto refused = answer_of(f.service, post());
  CHECK(refused.status == 429);
  CHECK_THAT(refused.body, Catch::Contains("from this address"));
  CHECK_THAT(f.metrics(),
             Catch::Contains("weft_identity_refusals_total{reason=\"too_many_from_source\"} 1"));
  // Another pod is not affected.
  CHECK(answer_of(f.service, post_from("10.244.0.9")).status == 200);
  // A refusal a client can cause at will is logged at most once a second.
  for (int i = 0; i < 20; ++i) answer_of(f.service, post());
  std::istringstream lines(f.log_text.str());
  int refusal_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    refusal_lines += line.find("certificate refused") != std::string::npos;
  }
  CHECK(refusal_lines <= 2);
}

TEST_CASE("expiry gauges: the issuer's, and one per anchor", "[identity][service]") {
  Fixture f;
  const auto at = std::chrono::system_clock::time_point{} + std::chrono::seconds(2000000000);
  f.service.set_issuer_expiry(at);
  f.service.set_anchor_expiry({"CN=root", "CN=root"}, {at, at + std::chrono::seconds(1)});
  auto text = f.metrics();
  CHECK_THAT(text, Catch::Contains("identity_issuer_expiration_timestamp_seconds 2e+09") ||
                       Catch::Contains("identity_issuer_expiration_timestamp_seconds 2000000000"));
  CHECK_THAT(text, Catch::Contains("anchor=\"CN=root\""));
  CHECK_THAT(text, Catch::Contains("anchor=\"CN=root #2\""));
  // An anchor removed from the bundle stops being exposed.
  f.service.set_anchor_expiry({"CN=new"}, {at});
  text = f.metrics();
  CHECK(text.find("CN=root") == std::string::npos);
  CHECK_THAT(text, Catch::Contains("anchor=\"CN=new\""));
  f.service.set_issuer_expiry(std::nullopt);
  CHECK_THAT(f.metrics(), Catch::Contains("identity_issuer_expiration_timestamp_seconds 0"));
}
