// accept_issued: an answer from weft-identity goes into the store only when
// it is the JSON expected, within the size limit, chained to the document's
// anchors, for exactly this pod's identity and for the key the proxy sent.

#include "proxy/identity/issuance.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

using namespace weft::proxy;
using namespace std::chrono_literals;
using weft::identity::KeyedCertificate;
using weft::identity::WorkloadIdentity;

namespace {

const WorkloadIdentity kSelf{"cluster.local", "shop", "web"};
const WorkloadIdentity kOther{"cluster.local", "shop", "admin"};
constexpr std::size_t kMax = 64 * 1024;

struct Pki {
  KeyedCertificate anchor;
  KeyedCertificate issuer;
};

Pki make_pki(std::chrono::system_clock::time_point now) {
  auto anchor = weft::identity::make_trust_anchor("cluster.local", 24h, now);
  REQUIRE(anchor);
  auto issuer = weft::identity::make_issuer(*anchor, "cluster.local", 12h, now);
  REQUIRE(issuer);
  return {*anchor, *issuer};
}

std::string answer(const std::string& leaf, const Pki& pki, const std::string& identity) {
  return nlohmann::json{{"certificate", leaf},
                        {"chain", pki.issuer.cert_pem},
                        {"identity", identity},
                        {"notAfter", "2030-01-01T00:00:00Z"}}
      .dump();
}

weft::identity::KeyAndRequest make_request() {
  auto made = weft::identity::make_certificate_request(kSelf);
  REQUIRE(made);
  return *made;
}

struct Exchange {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  Pki pki = make_pki(now);
  weft::identity::KeyAndRequest request = make_request();

  std::string leaf_for(const WorkloadIdentity& who, const std::string& csr) const {
    auto leaf = weft::identity::issue_leaf(pki.issuer, csr, who, 10s, now);
    REQUIRE(leaf);
    return *leaf;
  }
  weft::Result<Issued, IssuanceError> accept(std::string_view body) const {
    return accept_issued(body, request.key_pem, kSelf, pki.anchor.cert_pem, now, kMax);
  }
};

IssuanceFailure kind_of(const weft::Result<Issued, IssuanceError>& result) {
  REQUIRE_FALSE(result.has_value());
  INFO(result.error().message);
  return result.error().kind;
}

}  // namespace

TEST_CASE("a good answer becomes credentials: chain, key, anchors, notAfter",
          "[identity][issuance]") {
  const Exchange exchange;
  const auto leaf = exchange.leaf_for(kSelf, exchange.request.csr_pem);
  const auto issued = exchange.accept(answer(leaf, exchange.pki, kSelf.uri()));
  REQUIRE(issued.has_value());
  CHECK(issued->credentials.self == kSelf);
  CHECK(issued->credentials.key_pem == exchange.request.key_pem);
  CHECK(issued->credentials.anchors_pem == exchange.pki.anchor.cert_pem);
  CHECK_THAT(issued->credentials.chain_pem, Catch::StartsWith(leaf));
  CHECK_THAT(issued->credentials.chain_pem, Catch::Contains(exchange.pki.issuer.cert_pem));
  CHECK(issued->credentials.not_after > exchange.now);
  CHECK(issued->credentials.not_after - issued->not_before >= 10s);
}

TEST_CASE("answers refused with their reason", "[identity][issuance]") {
  const Exchange exchange;
  const auto leaf = exchange.leaf_for(kSelf, exchange.request.csr_pem);
  nlohmann::json no_chain = nlohmann::json::parse(answer(leaf, exchange.pki, kSelf.uri()));
  no_chain.erase("chain");
  const auto other_leaf = exchange.leaf_for(kOther, exchange.request.csr_pem);
  const auto stranger = weft::identity::make_certificate_request(kSelf);
  REQUIRE(stranger);
  const auto stranger_leaf = exchange.leaf_for(kSelf, stranger->csr_pem);
  const Pki foreign = make_pki(exchange.now);
  auto foreign_leaf = weft::identity::issue_leaf(foreign.issuer, exchange.request.csr_pem, kSelf,
                                                 10s, exchange.now);
  REQUIRE(foreign_leaf);

  struct Refusal {
    std::string what;
    std::string body;
    IssuanceFailure kind;
  };
  const std::vector<Refusal> refusals{
      {"empty", "", IssuanceFailure::kMalformed},
      {"cut JSON", "{\"certificate\": ", IssuanceFailure::kMalformed},
      {"not an object", "[1, 2]", IssuanceFailure::kMalformed},
      {"a number for the certificate", R"({"certificate": 1, "chain": "", "identity": ""})",
       IssuanceFailure::kMalformed},
      {"no chain", no_chain.dump(), IssuanceFailure::kMalformed},
      {"no certificate in the certificate field",
       answer("not a certificate", exchange.pki, kSelf.uri()), IssuanceFailure::kMalformed},
      // Another identity's certificate, whether the answer admits it or
      // claims it is ours.
      {"another identity, named", answer(other_leaf, exchange.pki, kOther.uri()),
       IssuanceFailure::kWrongIdentity},
      {"another identity, claimed as ours", answer(other_leaf, exchange.pki, kSelf.uri()),
       IssuanceFailure::kWrongIdentity},
      {"a certificate for another key", answer(stranger_leaf, exchange.pki, kSelf.uri()),
       IssuanceFailure::kKeyMismatch},
      {"a chain to another anchor", answer(*foreign_leaf, foreign, kSelf.uri()),
       IssuanceFailure::kUntrusted},
  };
  for (const Refusal& refusal : refusals) {
    INFO(refusal.what);
    CHECK(kind_of(exchange.accept(refusal.body)) == refusal.kind);
  }
}

TEST_CASE("an answer over the size limit is refused unread", "[identity][issuance]") {
  const Exchange exchange;
  const auto leaf = exchange.leaf_for(kSelf, exchange.request.csr_pem);
  const std::string body = answer(leaf, exchange.pki, kSelf.uri());
  const auto result = accept_issued(body, exchange.request.key_pem, kSelf,
                                    exchange.pki.anchor.cert_pem, exchange.now, body.size() - 1);
  CHECK(kind_of(result) == IssuanceFailure::kOversize);
}

TEST_CASE("the request body and the issuer's errors", "[identity][issuance]") {
  const auto body = nlohmann::json::parse(certificate_request_body("-----BEGIN X-----\n"));
  CHECK(body == nlohmann::json{{"csr", "-----BEGIN X-----\n"}});
  CHECK(issuer_error_text(401, R"({"error":"token refused"})") == "status 401: token refused");
  CHECK(issuer_error_text(502, "") == "status 502");
  CHECK(issuer_error_text(503, std::string(1000, 'x')).size() < 250);
}

TEST_CASE("every failure has its own metric label", "[identity][issuance]") {
  std::set<std::string_view> labels;
  for (std::size_t i = 0; i < kIssuanceFailureCount; ++i) {
    labels.insert(to_string(static_cast<IssuanceFailure>(i)));
  }
  CHECK(labels.size() == kIssuanceFailureCount);
}
