#include "weftctl/inject/injector_config_source.h"

#include <catch2/catch.hpp>

using nlohmann::json;
using weft::ctl::inject::identity_address_for;
using weft::ctl::inject::resolve_sidecar_mode;
using weft::webhook::InjectorConfig;
using weft::webhook::SidecarMode;

TEST_CASE("the identity address is the Service's ClusterIP, as the webhook's pod sees it",
          "[inject][config]") {
  const std::string by_name = "weft-identity.weft-system.svc:8443";
  const json service = {{"spec", {{"clusterIP", "10.96.3.7"}, {"ports", {{{"port", 8443}}}}}}};
  CHECK(identity_address_for(by_name, service) == "10.96.3.7:8443");
  const json ipv6 = {{"spec", {{"clusterIP", "fd00::7"}, {"ports", {{{"port", 443}}}}}}};
  CHECK(identity_address_for(by_name, ipv6) == "[fd00::7]:443");
  // Headless, absent, or a configured address: what the webhook would inject.
  const json headless = {{"spec", {{"clusterIP", "None"}, {"ports", {{{"port", 8443}}}}}}};
  CHECK(identity_address_for(by_name, headless) == by_name);
  CHECK(identity_address_for(by_name, json()) == by_name);
  CHECK(identity_address_for("10.0.0.1:9000", service) == "10.0.0.1:9000");
}

TEST_CASE("sidecarMode auto is decided from the Kubernetes version", "[inject][config]") {
  InjectorConfig config;
  REQUIRE(resolve_sidecar_mode(config, "v1.29.0"));
  CHECK(config.sidecar_mode == SidecarMode::kNative);
  config.sidecar_mode = SidecarMode::kAuto;
  REQUIRE(resolve_sidecar_mode(config, "v1.28.9-gke.1"));
  CHECK(config.sidecar_mode == SidecarMode::kClassic);
  config.sidecar_mode = SidecarMode::kAuto;
  CHECK_FALSE(resolve_sidecar_mode(config, "banana"));
  // A mode set in the configuration stays.
  config.sidecar_mode = SidecarMode::kClassic;
  REQUIRE(resolve_sidecar_mode(config, "v1.34.0"));
  CHECK(config.sidecar_mode == SidecarMode::kClassic);
}
