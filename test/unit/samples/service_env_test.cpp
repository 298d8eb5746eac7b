#include "samples/common/service_env.h"

#include <catch2/catch.hpp>

using namespace weft::samples;

TEST_CASE("service env: the kubelet's variable name", "[service_env]") {
  CHECK(service_host_variable("api") == "API_SERVICE_HOST");
  CHECK(service_host_variable("backend-v1") == "BACKEND_V1_SERVICE_HOST");
  // Not a plain Service name: DNS only.
  CHECK(!service_host_variable("backend.weft-demo.svc"));
  CHECK(!service_host_variable("10.96.0.1"));
  CHECK(!service_host_variable("Api"));
  CHECK(!service_host_variable("-api"));
  CHECK(!service_host_variable("api-"));
  CHECK(!service_host_variable(""));
}

TEST_CASE("service env: the address when the variable is set", "[service_env]") {
  const EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "BACKEND_V2_SERVICE_HOST") return "10.96.2.17";
    if (name == "EMPTY_SERVICE_HOST") return "";
    return std::nullopt;
  };
  CHECK(service_host_from_env("backend-v2", env) == "10.96.2.17");
  CHECK(!service_host_from_env("backend-v1", env));
  CHECK(!service_host_from_env("empty", env));
  CHECK(!service_host_from_env("backend-v2.other", env));
}
