#include "identity/options.h"

#include <catch2/catch.hpp>

using namespace std::chrono;
using namespace weft::identity;

TEST_CASE("defaults", "[identity][options]") {
  const auto options = parse_options({});
  REQUIRE(options);
  CHECK(options->ns == "weft-system");
  CHECK(options->trust_domain == "cluster.local");
  CHECK(options->leaf_lifetime == hours(24));
  CHECK(options->issuer_lifetime == hours(720));
  CHECK(options->anchor_lifetime == hours(87600));
  CHECK(options->listen.port == 8443);
  CHECK(options->dns_names.size() == 2);
  CHECK(options->max_concurrent_reviews == 4);
  CHECK(options->max_queued_reviews == 64);
  CHECK(options->token_review_timeout == seconds(5));
}

TEST_CASE("the review pool's limits", "[identity][options]") {
  const auto options = parse_options(
      {"--max-concurrent-reviews=2", "--max-queued-reviews=0", "--token-review-timeout=250ms"});
  REQUIRE(options);
  CHECK(options->max_concurrent_reviews == 2);
  CHECK(options->max_queued_reviews == 0);
  CHECK(options->token_review_timeout == milliseconds(250));
  CHECK_FALSE(parse_options({"--max-concurrent-reviews=0"}));
  CHECK_FALSE(parse_options({"--token-review-timeout=1ms"}));
  CHECK_FALSE(parse_options({"--max-queued-reviews=-1"}));
}

TEST_CASE("lifetimes of seconds, for tests", "[identity][options]") {
  const auto options = parse_options(
      {"--leaf-lifetime=5s", "--issuer-lifetime=20s", "--issuer-renew-before=0.5", "--listen=:0"});
  REQUIRE(options);
  CHECK(options->leaf_lifetime == seconds(5));
  CHECK(options->issuer_lifetime == seconds(20));
  CHECK(options->issuer_renew_before == 0.5);
  CHECK(options->listen.host == "0.0.0.0");
}

TEST_CASE("bad values name the flag", "[identity][options]") {
  const auto error = [](std::vector<std::string> args) {
    auto parsed = parse_options(args);
    return parsed ? std::string() : parsed.error().message;
  };
  CHECK_THAT(error({"--trust-domain=Bad_Domain"}), Catch::Contains("--trust-domain"));
  CHECK_THAT(error({"--service-account=No/Slash"}), Catch::Contains("--service-account"));
  CHECK_THAT(error({"--issuer-renew-before=1.5"}), Catch::Contains("--issuer-renew-before"));
  CHECK_THAT(error({"--leaf-lifetime=0"}), Catch::Contains("--leaf-lifetime"));
  CHECK_THAT(error({"--max-request-bytes=2048", "--max-csr-bytes=4096"}),
             Catch::Contains("--max-csr-bytes"));
  CHECK_THAT(error({"--nope"}), Catch::Contains("--nope"));
}

TEST_CASE("--help lists every flag", "[identity][options]") {
  const auto options = parse_options({"--help"});
  REQUIRE(options);
  CHECK(options->help);
  for (const auto* flag :
       {"--trust-domain", "--leaf-lifetime", "--issuer-lifetime", "--anchor-lifetime",
        "--issuer-renew-before", "--max-concurrent-reviews", "--max-queued-reviews",
        "--token-review-timeout", "--review-qps", "--max-csr-bytes", "/v1/certificates"}) {
    CHECK_THAT(usage(), Catch::Contains(flag));
  }
}
