#include "webhook/config.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

using weft::webhook::parse_config;
using weft::webhook::SidecarMode;

TEST_CASE("an empty configuration is the defaults from weft/constants.h", "[config]") {
  auto config = parse_config("{}");
  REQUIRE(config);
  CHECK(config->proxy_uid == weft::kProxyUid);
  CHECK(config->inbound_port == weft::kProxyInboundPort);
  CHECK(config->outbound_port == weft::kProxyOutboundPort);
  CHECK(config->admin_port == weft::kProxyAdminPort);
  CHECK(config->sidecar_mode == SidecarMode::kAuto);
  // What to_json writes, parse_config reads back the same.
  auto again = parse_config(weft::webhook::to_json(*config).dump());
  REQUIRE(again);
  CHECK(weft::webhook::to_json(*again) == weft::webhook::to_json(*config));
}

TEST_CASE("every field is read", "[config]") {
  auto config = parse_config(R"({
    "proxyImage": "p:1", "initImage": "i:1", "proxyVersion": "1", "imagePullPolicy": "Always",
    "proxyUid": 1000, "inboundPort": 1, "outboundPort": 2, "adminPort": 3, "readyPath": "/r",
    "logLevel": "warn", "sidecarMode": "classic", "classicWaitCommand": ["/w"],
    "proxyResources": {"cpuRequest": "1", "cpuLimit": "", "memoryRequest": "1Mi", "memoryLimit": "2Mi"},
    "initResources": {"cpuRequest": "5m"},
    "identityTokenExpirationSeconds": 7200, "identityAddress": "identity.example:9443",
    "skipInboundPorts": "22", "skipOutboundPorts": "25,587", "skipSubnets": "169.254.169.254/32"})");
  REQUIRE(config);
  CHECK(config->proxy_image == "p:1");
  CHECK(config->sidecar_mode == SidecarMode::kClassic);
  CHECK(config->classic_wait_command == std::vector<std::string>{"/w"});
  CHECK(config->proxy_resources.cpu_limit.empty());
  CHECK(config->init_resources.cpu_request == "5m");
  CHECK(config->init_resources.memory_limit == "32Mi");  // untouched default
  CHECK(config->skip_outbound_ports.size() == 2);
  CHECK(config->skip_subnets.size() == 1);
  CHECK(config->identity_address == "identity.example:9443");
}

TEST_CASE("bad configurations are refused with the field named", "[config]") {
  const auto message = [](const char* text) {
    auto config = parse_config(text);
    REQUIRE_FALSE(config);
    return config.error().message;
  };
  CHECK_THAT(message("nope"), Catch::Contains("not valid JSON"));
  CHECK_THAT(message("[]"), Catch::Contains("must be a JSON object"));
  CHECK_THAT(message(R"({"proxyImage": 3})"), Catch::Contains("proxyImage must be a string"));
  CHECK_THAT(message(R"({"proxyImage": ""})"), Catch::Contains("proxyImage must not be empty"));
  CHECK_THAT(message(R"({"proxyImg": "x"})"), Catch::Contains("unknown field proxyImg"));
  CHECK_THAT(message(R"({"inboundPort": 70000})"),
             Catch::Contains("inboundPort must be between 1 and 65535"));
  CHECK_THAT(message(R"({"inboundPort": "80"})"),
             Catch::Contains("inboundPort must be an integer"));
  CHECK_THAT(message(R"({"proxyUid": 0})"), Catch::Contains("proxyUid must be between"));
  CHECK_THAT(message(R"({"inboundPort": 4140})"), Catch::Contains("distinct"));
  CHECK_THAT(message(R"({"sidecarMode": "sometimes"})"), Catch::Contains("sidecarMode must be"));
  CHECK_THAT(message(R"({"logLevel": "loud"})"), Catch::Contains("logLevel must be"));
  CHECK_THAT(message(R"({"imagePullPolicy": "Maybe"})"), Catch::Contains("imagePullPolicy"));
  CHECK_THAT(message(R"({"readyPath": "ready"})"), Catch::Contains("readyPath must start"));
  CHECK_THAT(message(R"({"classicWaitCommand": []})"), Catch::Contains("non-empty list"));
  CHECK_THAT(message(R"({"proxyResources": {"cpu": "1"}})"),
             Catch::Contains("unknown field proxyResources.cpu"));
  CHECK_THAT(message(R"({"proxyResources": {"cpuRequest": "one"}})"),
             Catch::Contains("proxyResources.cpuRequest: 'one' is not a Kubernetes quantity"));
  CHECK_THAT(message(R"({"skipSubnets": "10.0.0.1/8"})"), Catch::Contains("skipSubnets:"));
  CHECK_THAT(message(R"({"identityTokenExpirationSeconds": 60})"),
             Catch::Contains("identityTokenExpirationSeconds must be between 600"));
  for (const char* bad :
       {R"({"identityAddress": "weft-identity"})", R"({"identityAddress": ":8443"})",
        R"({"identityAddress": "weft-identity:0"})",
        R"({"identityAddress": "weft-identity:70000"})"}) {
    CHECK_THAT(message(bad), Catch::Contains("identityAddress:") && Catch::Contains("HOST:PORT"));
  }
  // The volume it sized is gone: the key is refused like any unknown one.
  CHECK_THAT(message(R"({"identityVolumeSizeLimit": "1Mi"})"),
             Catch::Contains("unknown field identityVolumeSizeLimit"));
}

TEST_CASE("quantities as the API server reads them", "[config]") {
  for (const char* good :
       {"1", "100m", "0.5", ".5", "1.", "64Mi", "1Gi", "2k", "1e3", "1E-2", "500u"}) {
    CHECK(weft::webhook::is_valid_quantity(good));
  }
  for (const char* bad : {"", "m", "1 m", "-1", "+1", "1mi", "1MiB", "1.2.3", "0x10", "1KiB"}) {
    CHECK_FALSE(weft::webhook::is_valid_quantity(bad));
  }
}

TEST_CASE("native sidecars from 1.29", "[config]") {
  CHECK(*weft::webhook::supports_native_sidecars("v1.29.0"));
  CHECK(*weft::webhook::supports_native_sidecars("v1.34.4"));
  CHECK(*weft::webhook::supports_native_sidecars("v1.30.1-gke.1"));
  CHECK(*weft::webhook::supports_native_sidecars("v2.0.0"));
  CHECK_FALSE(*weft::webhook::supports_native_sidecars("v1.28.9"));
  CHECK_FALSE(*weft::webhook::supports_native_sidecars("1.9.0"));
  CHECK_FALSE(weft::webhook::supports_native_sidecars("latest"));
  CHECK_FALSE(weft::webhook::supports_native_sidecars("v1"));
  CHECK_FALSE(weft::webhook::supports_native_sidecars(""));
}

TEST_CASE("the default identity address becomes weft-identity's ClusterIP from the Service links") {
  const std::string by_name = "weft-identity.weft-system.svc:8443";
  std::map<std::string, std::string> env;
  const auto lookup = [&env](const char* name) -> const char* {
    auto found = env.find(name);
    return found == env.end() ? nullptr : found->second.c_str();
  };
  CHECK(weft::webhook::resolve_identity_address(by_name, lookup) == by_name);  // no links: the name
  env = {{"WEFT_IDENTITY_SERVICE_HOST", "10.96.0.20"}, {"WEFT_IDENTITY_SERVICE_PORT", "8443"}};
  CHECK(weft::webhook::resolve_identity_address(by_name, lookup) == "10.96.0.20:8443");
  CHECK(weft::webhook::resolve_identity_address("identity.example:9443", lookup) ==
        "identity.example:9443");
  env["WEFT_IDENTITY_SERVICE_HOST"] = "fd00:10:96::14";
  CHECK(weft::webhook::resolve_identity_address(by_name, lookup) == "[fd00:10:96::14]:8443");
  env["WEFT_IDENTITY_SERVICE_HOST"] = "not an address";
  CHECK(weft::webhook::resolve_identity_address(by_name, lookup) == by_name);
  env["WEFT_IDENTITY_SERVICE_HOST"] = "10.96.0.20";
  env["WEFT_IDENTITY_SERVICE_PORT"] = "0";
  CHECK(weft::webhook::resolve_identity_address(by_name, lookup) == by_name);
}
