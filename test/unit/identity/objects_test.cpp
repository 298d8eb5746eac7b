#include "identity/objects.h"

#include <catch2/catch.hpp>

using namespace weft::identity;
using nlohmann::json;

TEST_CASE("a Secret made by Weft reads back as Weft's, decoded", "[identity][objects]") {
  auto secret =
      make_secret("weft-system", kIssuerSecret, {{"tls.crt", "CERT"}, {"tls.key", "KEY"}});
  CHECK(secret["type"] == "kubernetes.io/tls");
  CHECK(secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "weft-identity");
  secret["metadata"]["resourceVersion"] = "42";
  const auto stored = read_secret(secret);
  CHECK(stored.problem.empty());
  CHECK(stored.managed);
  CHECK(stored.resource_version == "42");
  CHECK(stored.value("tls.crt") == "CERT");
  CHECK(stored.value("ca.crt").empty());
}

TEST_CASE("a user's objects are not Weft's", "[identity][objects]") {
  CHECK_FALSE(read_secret(json{{"metadata", {{"name", "x"}}}, {"data", json::object()}}).managed);
  CHECK_FALSE(
      read_config_map(
          json{{"metadata", {{"labels", {{"app.kubernetes.io/managed-by", "cert-manager"}}}}}})
          .managed);
}

TEST_CASE("corrupted objects are described, not thrown on", "[identity][objects]") {
  CHECK(read_secret(json{{"data", {{"tls.crt", "!!!not base64"}}}}).problem ==
        "data.tls.crt is not base64");
  CHECK(read_secret(json{{"data", {{"tls.crt", 5}}}}).problem == "data.tls.crt is not a string");
  CHECK(read_config_map(json{{"data", "x"}}).problem == "data is not a map");
  CHECK(read_secret(json::array()).problem == "not an object");
  const auto map =
      read_config_map(make_config_map("weft-system", kBundleConfigMap, {{"ca-bundle.crt", "PEM"}}));
  CHECK(map.value("ca-bundle.crt") == "PEM");
  CHECK(map.managed);
}
