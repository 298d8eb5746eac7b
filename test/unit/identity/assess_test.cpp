#include "identity/assess.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "identity/signer.h"
#include "lib/http/http_test_client.h"
#include "weft/constants.h"
#include "weft/file.h"
#include "weft/http/server.h"
#include "weft/identity/x509.h"

using namespace std::chrono;
using namespace weft::identity;

namespace {

const auto kNow = system_clock::now();

KeyedCertificate anchor() {
  return *make_trust_anchor("cluster.local", hours(24 * 365), kNow);
}

StoredObject issuer_secret(const KeyedCertificate& issuer, const KeyedCertificate& root,
                           bool managed = true) {
  StoredObject secret;
  secret.managed = managed;
  secret.data = {
      {"tls.crt", issuer.cert_pem}, {"tls.key", issuer.key_pem}, {"ca.crt", root.cert_pem}};
  return secret;
}

StoredObject bundle_map(const std::string& pem) {
  StoredObject map;
  map.data = {{"ca-bundle.crt", pem}};
  return map;
}

}  // namespace

TEST_CASE("Weft's own chain: usable, chains to the bundle and to its ca.crt",
          "[identity][assess]") {
  const auto root = anchor();
  const auto issuer = *make_issuer(root, "cluster.local", hours(720), kNow);
  const auto bundle = assess_bundle(bundle_map(root.cert_pem));
  REQUIRE(bundle);
  CHECK(bundle->problem.empty());
  CHECK(bundle->anchors.size() == 1);
  CHECK(bundle->anchor_names.size() == 1);
  const auto facts = assess_issuer(issuer_secret(issuer, root), bundle, "cluster.local", kNow);
  REQUIRE(facts);
  CHECK(facts->problem.empty());
  CHECK(facts->bundle_problem.empty());
  CHECK(facts->own_ca_problem.empty());
  CHECK(facts->ca_certs == bundle->anchors);
  CHECK(facts->not_after - facts->not_before >= hours(720));

  StoredObject anchor_secret;
  anchor_secret.data = {{"tls.crt", root.cert_pem}, {"tls.key", root.key_pem}};
  const auto anchor_facts = assess_anchor(anchor_secret);
  REQUIRE(anchor_facts);
  CHECK(anchor_facts->problem.empty());
  CHECK_FALSE(anchor_facts->key_pem.empty());

  // The whole plan over real facts: issuing, nothing to do.
  TrustFacts all{anchor_facts, facts, bundle};
  const auto plan = plan_trust(all, TrustPolicy{}, kNow);
  CHECK(plan.can_issue);
  CHECK(plan.step == TrustStep::kNone);
}

TEST_CASE("a key that is not the certificate's is a problem", "[identity][assess]") {
  const auto root = anchor();
  auto issuer = *make_issuer(root, "cluster.local", hours(720), kNow);
  issuer.key_pem = make_issuer(root, "cluster.local", hours(720), kNow)->key_pem;
  const auto facts =
      assess_issuer(issuer_secret(issuer, root), std::nullopt, "cluster.local", kNow);
  REQUIRE(facts);
  CHECK_THAT(facts->problem, Catch::Contains("tls.key is not the key of tls.crt"));

  StoredObject anchor_secret;
  anchor_secret.data = {{"tls.crt", root.cert_pem}, {"tls.key", issuer.key_pem}};
  CHECK_THAT(assess_anchor(anchor_secret)->problem, Catch::Contains("tls.key"));
}

TEST_CASE("an issuer that is not a CA is a problem", "[identity][assess]") {
  const auto root = anchor();
  const auto issuer = *make_issuer(root, "cluster.local", hours(720), kNow);
  const auto request = *make_certificate_request(*make_identity("cluster.local", "shop", "web"));
  const auto leaf = *issue_leaf(issuer, request.csr_pem,
                                *make_identity("cluster.local", "shop", "web"), hours(24), kNow);
  const auto facts = assess_issuer(issuer_secret({leaf, request.key_pem}, root), std::nullopt,
                                   "cluster.local", kNow);
  REQUIRE(facts);
  CHECK_THAT(facts->problem, Catch::Contains("not a CA"));
}

TEST_CASE("garbage and missing fields are problems, named", "[identity][assess]") {
  StoredObject secret;
  secret.data = {{"tls.crt", "garbage"}, {"tls.key", "garbage"}};
  CHECK_THAT(assess_issuer(secret, std::nullopt, "cluster.local", kNow)->problem,
             Catch::Contains("tls.crt"));
  secret.data = {{"tls.key", "x"}};
  CHECK(assess_issuer(secret, std::nullopt, "cluster.local", kNow)->problem == "no tls.crt");
  secret.data = {{"tls.crt", anchor().cert_pem}};
  CHECK(assess_issuer(secret, std::nullopt, "cluster.local", kNow)->problem == "no tls.key");
  CHECK_THAT(assess_bundle(bundle_map("nope"))->problem, Catch::Contains("ca-bundle.crt"));
  CHECK(assess_bundle(StoredObject{})->problem == "no ca-bundle.crt");
  StoredObject corrupted;
  corrupted.problem = "data.tls.crt is not base64";
  CHECK(assess_anchor(corrupted)->problem == "data.tls.crt is not base64");
  CHECK_FALSE(assess_anchor(std::nullopt));
  CHECK_FALSE(assess_issuer(std::nullopt, std::nullopt, "cluster.local", kNow));
}

TEST_CASE("a bundle larger than a proxy document carries is a problem", "[identity][assess]") {
  // Valid certificates, but more bytes than the operator copies into the
  // documents: issuing under it would leave every proxy without anchors.
  std::string pem;
  while (pem.size() <= weft::kMaxTrustAnchorsBytes) pem += anchor().cert_pem;
  const auto facts = assess_bundle(bundle_map(pem));
  CHECK_THAT(facts->problem, Catch::Contains("more than the 65536 a proxy document carries"));
  CHECK(facts->anchors.empty());
  CHECK(assess_bundle(bundle_map(anchor().cert_pem))->problem.empty());
}

TEST_CASE("an issuer of another anchor does not chain to the bundle", "[identity][assess]") {
  const auto root = anchor();
  const auto other = anchor();
  const auto issuer = *make_issuer(other, "cluster.local", hours(720), kNow);
  const auto bundle = assess_bundle(bundle_map(root.cert_pem));
  const auto facts = assess_issuer(issuer_secret(issuer, other), bundle, "cluster.local", kNow);
  REQUIRE(facts);
  CHECK(facts->problem.empty());
  CHECK_FALSE(facts->bundle_problem.empty());
  CHECK(facts->own_ca_problem.empty());
  // Weft's bundle gets the anchor added, a user's is not touched.
  TrustFacts all{std::nullopt, facts, bundle};
  all.bundle->managed = true;
  auto plan = plan_trust(all, TrustPolicy{}, kNow);
  CHECK(plan.step == TrustStep::kUpdateBundle);
  CHECK(plan.bundle.size() == 2);
  all.bundle->managed = false;
  plan = plan_trust(all, TrustPolicy{}, kNow);
  CHECK(plan.step == TrustStep::kNone);
  CHECK_FALSE(plan.can_issue);
}

TEST_CASE("the signer's leaves and serving certificate chain to the anchor", "[identity][assess]") {
  const auto root = anchor();
  const auto issuer = *make_issuer(root, "cluster.local", hours(720), kNow);
  IssuerSigner signer(issuer, issuer.cert_pem, inspect_certificate(issuer.cert_pem)->not_after,
                      hours(24));
  const auto self = *make_identity("cluster.local", "weft-system", "weft-identity");
  const auto serving = make_serving_certificate(
      signer, {"weft-identity.weft-system.svc", "localhost"}, self, hours(24), kNow);
  REQUIRE(serving);
  // A TLS client that trusts only the anchor accepts it for its name.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("weft-identity-serving-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  REQUIRE(weft::write_file_atomically(dir / "tls.crt", serving->cert_pem,
                                      std::filesystem::perms::owner_all));
  REQUIRE(weft::write_file_atomically(dir / "tls.key", serving->key_pem,
                                      std::filesystem::perms::owner_all));
  weft::http::ServerOptions options;
  options.tls = weft::http::TlsFiles{(dir / "tls.crt").string(), (dir / "tls.key").string()};
  weft::http::Routes routes;
  routes["/"] = [](const weft::http::Request&) { return weft::http::Response{200, "ok"}; };
  auto server = weft::http::Server::start(options, routes);
  REQUIRE(server);
  const auto reply = weft::test::http_get((*server)->port(), "/", root.cert_pem);
  INFO((reply ? std::string() : reply.error().message));
  REQUIRE(reply);
  CHECK(reply->status == 200);
  const auto stranger = anchor();
  CHECK_FALSE(weft::test::http_get((*server)->port(), "/", stranger.cert_pem));
  (*server)->stop();
  std::filesystem::remove_all(dir);

  const auto facts = inspect_certificate(serving->cert_pem);
  REQUIRE(facts);
  CHECK(facts->uris == std::vector<std::string>{self.uri()});
  CHECK(std::find(facts->dns_names.begin(), facts->dns_names.end(), "localhost") !=
        facts->dns_names.end());
  CHECK(check_key_matches(serving->cert_pem, serving->key_pem));

  const auto web = *make_identity("cluster.local", "shop", "web");
  const auto request = *make_certificate_request(web);
  const auto leaf = signer.sign(request.csr_pem, web, kNow);
  REQUIRE(leaf);
  CHECK(leaf->not_after == inspect_certificate(leaf->cert_pem)->not_after);
  // Never past the issuer.
  IssuerSigner short_lived(issuer, issuer.cert_pem, kNow + hours(1), hours(24));
  CHECK(short_lived.sign(request.csr_pem, web, kNow)->not_after == floor<seconds>(kNow + hours(1)));
  CHECK(verify_workload_chain(leaf->cert_pem + signer.chain_pem(), root.cert_pem, "cluster.local",
                              system_clock::now()));
  CHECK_FALSE(signer.sign("garbage", web, kNow));
}
