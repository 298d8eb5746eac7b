#include "identity/issuance.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "identity/token_review.h"
#include "test/unit/identity/test_requests.h"
#include "weft/log.h"

using namespace weft::identity;
using nlohmann::json;
using weft::identity::testing::jwt;
using weft::identity::testing::token_for;
using weft::identity::testing::unix_seconds;

namespace {

const auto kNow = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

// The API server, as a table: token -> answer.
class FakeReviewer final : public TokenReviewer {
 public:
  std::map<std::string, TokenReviewAnswer> answers;
  bool unreachable = false;
  int reviews = 0;
  weft::Result<TokenReviewAnswer> review(std::string_view token) override {
    ++reviews;
    if (unreachable) return weft::Error{"connection refused"};
    const auto it = answers.find(std::string(token));
    if (it == answers.end()) return TokenReviewAnswer{false, {}, "", "invalid bearer token"};
    return it->second;
  }
};

// Signs anything that looks like a CSR, and records for whom.
class FakeSigner final : public LeafSigner {
 public:
  std::vector<std::string> signed_for;
  weft::Result<Leaf> sign(std::string_view csr, const WorkloadIdentity& identity,
                          std::chrono::system_clock::time_point now) override {
    if (csr.find("CERTIFICATE REQUEST") == std::string_view::npos) {
      return weft::Error{"not a PEM certificate request"};
    }
    signed_for.push_back(identity.uri());
    return Leaf{"LEAF for " + identity.uri(), now + std::chrono::hours(24)};
  }
  const std::string& chain_pem() const override { return chain_; }
  std::chrono::system_clock::time_point not_after() const override { return end; }
  std::chrono::system_clock::time_point end = std::chrono::system_clock::time_point::max();

 private:
  std::string chain_ = "ISSUER";
};

const std::string& kCsr = weft::identity::testing::real_csr();

std::string body(std::string_view csr = kCsr) {
  return json{{"csr", csr}}.dump();
}

TokenReviewAnswer service_account(std::string ns, std::string sa) {
  return TokenReviewAnswer{
      true, {"identity.weft.io"}, "system:serviceaccount:" + ns + ":" + sa, ""};
}

// A well-formed token of shop/web, the API server's answer given per test.
const std::string kToken = token_for("shop", "web", kNow);
const std::string kBearer = "Bearer " + kToken;

struct Fixture {
  FakeReviewer reviewer;
  FakeSigner signer;
  IssuanceOptions options;
  std::function<bool()> review_allowed;
  IssuanceOutcome ask(std::string_view authorization, std::string_view request_body,
                      bool with_signer = true) {
    return issue_certificate(authorization, request_body, reviewer, with_signer ? &signer : nullptr,
                             "no issuer Secret", options, kNow, review_allowed);
  }
};

}  // namespace

TEST_CASE("a service account's token yields a leaf for exactly that account",
          "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  const auto outcome = f.ask(kBearer, body());
  REQUIRE(outcome.status == 200);
  CHECK(outcome.reason == "issued");
  CHECK(outcome.identity == "spiffe://cluster.local/ns/shop/sa/web");
  const auto answer = json::parse(outcome.body);
  CHECK(answer["certificate"] == "LEAF for spiffe://cluster.local/ns/shop/sa/web");
  CHECK(answer["chain"] == "ISSUER");
  CHECK(answer["identity"] == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(answer["notAfter"] == weft::format_log_timestamp(kNow + std::chrono::hours(24)));
  CHECK(f.signer.signed_for == std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/web"});
}

TEST_CASE("the trust domain is the issuer's", "[identity][issuance]") {
  Fixture f;
  f.options.trust_domain = "mesh.example";
  f.reviewer.answers[kToken] = service_account("shop", "web");
  CHECK(f.ask("bearer " + kToken, body()).identity == "spiffe://mesh.example/ns/shop/sa/web");
}

TEST_CASE("token refusals are 401 with a reason", "[identity][issuance]") {
  Fixture f;
  SECTION("no header") {
    const auto outcome = f.ask("", body());
    CHECK(outcome.status == 401);
    CHECK(outcome.reason == "no_token");
    CHECK(f.reviewer.reviews == 0);
  }
  SECTION("another scheme") {
    CHECK(f.ask("Basic dXNlcjpwYXNz", body()).reason == "no_token");
  }
  SECTION("refused by the API server") {
    const auto outcome = f.ask(kBearer, body());
    CHECK(outcome.status == 401);
    CHECK(outcome.reason == "token_refused");
    CHECK_THAT(outcome.body, Catch::Contains("invalid bearer token"));
  }
  SECTION("another audience") {
    f.reviewer.answers[kToken] = TokenReviewAnswer{
        true, {"https://kubernetes.default.svc"}, "system:serviceaccount:shop:web", ""};
    CHECK(f.ask(kBearer, body()).reason == "wrong_audience");
  }
  SECTION("no audience said") {
    f.reviewer.answers[kToken] = TokenReviewAnswer{true, {}, "system:serviceaccount:shop:web", ""};
    CHECK(f.ask(kBearer, body()).reason == "wrong_audience");
  }
  SECTION("a user, not a service account") {
    f.reviewer.answers[kToken] = TokenReviewAnswer{true, {"identity.weft.io"}, "alice", ""};
    const auto outcome = f.ask(kBearer, body());
    CHECK(outcome.status == 401);
    CHECK(outcome.reason == "not_service_account");
  }
  CHECK(f.signer.signed_for.empty());
}

TEST_CASE("the token never reaches the answer or the log detail", "[identity][issuance]") {
  Fixture f;
  for (const std::string& token : {kToken, std::string("secret-token-value")}) {
    const auto outcome = f.ask("Bearer " + token, body());
    CHECK(outcome.status == 401);
    CHECK(outcome.body.find(token) == std::string::npos);
    CHECK(outcome.detail.find(token) == std::string::npos);
  }
}

TEST_CASE("malformed requests are 400, before any TokenReview", "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  for (const std::string bad :
       {"", "not json", "[]", R"({"csr": 1})", R"({"csr": ""})", R"({"other": "x"})"}) {
    CAPTURE(bad);
    const auto outcome = f.ask(kBearer, bad);
    CHECK(outcome.status == 400);
    CHECK(outcome.reason == "bad_request");
  }
  SECTION("an oversized CSR") {
    f.options.max_csr_bytes = 100;
    const auto outcome = f.ask(kBearer, body(kCsr + std::string(200, 'A')));
    CHECK(outcome.status == 400);
    CHECK_THAT(outcome.body, Catch::Contains("more than 100"));
  }
  CHECK(f.reviewer.reviews == 0);
}

TEST_CASE("a bad CSR is 400, before any TokenReview", "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  std::string tampered = kCsr;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& csr : {std::string("garbage"), tampered, kCsr + kCsr}) {
    const auto outcome = f.ask(kBearer, body(csr));
    CHECK(outcome.status == 400);
    CHECK(outcome.reason == "bad_csr");
  }
  CHECK(f.reviewer.reviews == 0);
  CHECK(f.signer.signed_for.empty());
}

TEST_CASE("a token that cannot be for weft-identity costs no TokenReview", "[identity][issuance]") {
  Fixture f;
  const auto claims = [](json changes) {
    json claims = {{"aud", {"identity.weft.io"}},
                   {"exp", unix_seconds(kNow) + 600},
                   {"sub", "system:serviceaccount:shop:web"}};
    claims.merge_patch(changes);
    return claims;
  };
  struct Case {
    std::string token;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"not-a-jwt", "token_refused"},
      {"a.b", "token_refused"},
      {"a.b.c.d", "token_refused"},
      {"e30.!!!.c2ln", "token_refused"},  // payload not base64url
      {"e30." + weft::identity::testing::base64url("[]") + ".s", "token_refused"},
      {jwt(claims({{"aud", "https://kubernetes.default.svc"}})), "wrong_audience"},
      {jwt(claims({{"aud", json::array()}})), "wrong_audience"},
      {jwt(claims({{"aud", nullptr}})), "wrong_audience"},
      {jwt(claims({{"exp", unix_seconds(kNow) - 3600}})), "token_refused"},  // stolen, old
      {jwt(claims({{"exp", nullptr}})), "token_refused"},
      {jwt(claims({{"exp", "tomorrow"}})), "token_refused"},
      {jwt(claims({{"sub", "alice"}})), "not_service_account"},
      {jwt(claims({{"sub", nullptr}})), "not_service_account"},
      {std::string(20000, 'a') + ".b.c", "token_refused"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.token.substr(0, 80));
    const auto outcome = f.ask("Bearer " + c.token, body());
    CHECK(outcome.status == 401);
    CHECK(outcome.reason == c.reason);
  }
  CHECK(f.reviewer.reviews == 0);
  SECTION("within the API server's minute of leeway, it is asked") {
    f.ask("Bearer " + jwt(claims({{"exp", unix_seconds(kNow) - 30}})), body());
    CHECK(f.reviewer.reviews == 1);
  }
}

TEST_CASE("a source over its review budget is 429, without a TokenReview", "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  f.review_allowed = [] { return false; };
  const auto outcome = f.ask(kBearer, body());
  CHECK(outcome.status == 429);
  CHECK(outcome.reason == "too_many_from_source");
  CHECK(f.reviewer.reviews == 0);
  f.review_allowed = [] { return true; };
  CHECK(f.ask(kBearer, body()).status == 200);
}

TEST_CASE("no issuer: 503 with the reason, and no TokenReview", "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  const auto outcome = f.ask(kBearer, body(), false);
  CHECK(outcome.status == 503);
  CHECK(outcome.reason == "no_issuer");
  CHECK_THAT(outcome.body, Catch::Contains("no issuer Secret"));
  CHECK(f.reviewer.reviews == 0);
}

TEST_CASE("the API server unreachable: 503", "[identity][issuance]") {
  Fixture f;
  f.reviewer.unreachable = true;
  const auto outcome = f.ask(kBearer, body());
  CHECK(outcome.status == 503);
  CHECK(outcome.reason == "review_failed");
}

TEST_CASE("bearer_token", "[identity][issuance]") {
  CHECK(bearer_token("Bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(bearer_token("BEARER  abc ") == std::optional<std::string_view>("abc"));
  CHECK_FALSE(bearer_token("Bearer "));
  CHECK_FALSE(bearer_token("Bearer a b"));
  CHECK_FALSE(bearer_token("Bearerabc"));
}

TEST_CASE("TokenReview JSON", "[identity][issuance]") {
  const auto request = token_review_request("tok");
  CHECK(request["spec"]["token"] == "tok");
  CHECK(request["spec"]["audiences"] == json::array({"identity.weft.io"}));

  auto answer = parse_token_review(json::parse(R"({"status": {"authenticated": true,
      "audiences": ["identity.weft.io"], "user": {"username": "system:serviceaccount:a:b"}}})"));
  REQUIRE(answer);
  CHECK(answer->authenticated);
  CHECK(answer->username == "system:serviceaccount:a:b");
  CHECK(answer->audiences == std::vector<std::string>{"identity.weft.io"});

  answer = parse_token_review(json::parse(R"({"status": {"error": "token expired"}})"));
  REQUIRE(answer);
  CHECK_FALSE(answer->authenticated);
  CHECK(answer->error == "token expired");

  CHECK_FALSE(parse_token_review(json::parse(R"({"kind": "Status"})")));
  CHECK_FALSE(parse_token_review(json::parse("[]")));
}

TEST_CASE("an issuer past its end signs nothing: 503", "[identity][issuance]") {
  Fixture f;
  f.reviewer.answers[kToken] = service_account("shop", "web");
  f.signer.end = kNow;
  const auto outcome = f.ask(kBearer, body());
  CHECK(outcome.status == 503);
  CHECK(outcome.reason == "no_issuer");
  CHECK_THAT(outcome.body, Catch::Contains("expired"));
  CHECK(f.signer.signed_for.empty());
}
