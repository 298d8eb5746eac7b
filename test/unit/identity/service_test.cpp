#include "identity/service.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test/unit/identity/test_requests.h"

using namespace weft;
using namespace weft::identity;

namespace {

// Answers every token as SA shop/web, optionally holding each review until released.
class GateReviewer final : public TokenReviewer {
 public:
  bool hold = false;
  Result<TokenReviewAnswer> review(std::string_view) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold || released_; });
    return TokenReviewAnswer{true, {"identity.weft.io"}, "system:serviceaccount:shop:web", ""};
  }
  void wait_for_waiting(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

class EchoSigner final : public LeafSigner {
 public:
  Result<Leaf> sign(std::string_view, const WorkloadIdentity& identity,
                    std::chrono::system_clock::time_point now) override {
    return Leaf{"LEAF " + identity.uri(), now};
  }
  const std::string& chain_pem() const override { return chain_; }
  std::chrono::system_clock::time_point not_after() const override { return end; }
  std::chrono::system_clock::time_point end = std::chrono::system_clock::time_point::max();

 private:
  std::string chain_ = "ISSUER";
};

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
  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  GateReviewer reviewer;
  IdentityService service{registry,          logger, reviewer,
                          IssuanceOptions{}, 2,      SourceLimits{.qps = 0.001, .burst = 3}};

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
  const auto refused = f.service.certificates(post());
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
  const auto answer = f.service.certificates(post(token));
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
  CHECK(f.service.certificates(request).status == 405);
}

TEST_CASE("TokenReviews beyond the limit get 429 and are counted", "[identity][service]") {
  Fixture f;
  f.service.publish(std::make_shared<EchoSigner>(), "");
  f.reviewer.hold = true;
  auto first = std::async(std::launch::async, [&] { return f.service.certificates(post()); });
  auto second = std::async(std::launch::async, [&] { return f.service.certificates(post()); });
  f.reviewer.wait_for_waiting(2);
  const auto third = f.service.certificates(post());
  CHECK(third.status == 429);
  f.reviewer.release();
  CHECK(first.get().status == 200);
  CHECK(second.get().status == 200);
  CHECK_THAT(f.metrics(), Catch::Contains("weft_identity_refusals_total{reason=\"too_many\"} 1"));
  // The slots are given back.
  CHECK(f.service
            .certificates(post(testing::token_for("shop", "web", std::chrono::system_clock::now()),
                               "10.244.0.8"))
            .status == 200);
}

TEST_CASE("one address flooding with tokens spends its own review budget only",
          "[identity][service]") {
  Fixture f;
  f.service.publish(std::make_shared<EchoSigner>(), "");
  for (int i = 0; i < 3; ++i) CHECK(f.service.certificates(post()).status == 200);
  const auto refused = f.service.certificates(post());
  CHECK(refused.status == 429);
  CHECK_THAT(refused.body, Catch::Contains("from this address"));
  CHECK_THAT(f.metrics(),
             Catch::Contains("weft_identity_refusals_total{reason=\"too_many_from_source\"} 1"));
  // Another pod is not affected.
  CHECK(f.service
            .certificates(post(testing::token_for("shop", "web", std::chrono::system_clock::now()),
                               "10.244.0.9"))
            .status == 200);
  // A refusal a client can cause at will is logged at most once a second.
  for (int i = 0; i < 20; ++i) f.service.certificates(post());
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
