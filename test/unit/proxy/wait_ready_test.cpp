#include "proxy/wait_ready.h"

#include <catch2/catch.hpp>
#include <map>

#include "weft/constants.h"

using namespace weft::proxy;

TEST_CASE("wait-ready takes the admin port the webhook injects", "[wait-ready]") {
  auto defaults = parse_wait_ready_settings({}, weft::flags::environment_of({}));
  REQUIRE(defaults.has_value());
  CHECK(defaults.value().admin_port == weft::kProxyAdminPort);
  CHECK(defaults.value().address == "127.0.0.1");
  CHECK(defaults.value().timeout == std::chrono::minutes(2));

  auto injected = parse_wait_ready_settings(
      {}, weft::flags::environment_of({{"WEFT_PROXY_ADMIN_PORT", "5191"}}));
  CHECK(injected.value().admin_port == 5191);
  auto flagged =
      parse_wait_ready_settings({"--admin-port", "6191", "--timeout=30s"},
                                weft::flags::environment_of({{"WEFT_PROXY_ADMIN_PORT", "5191"}}));
  CHECK(flagged.value().admin_port == 6191);
  CHECK(flagged.value().timeout == std::chrono::seconds(30));
}

TEST_CASE("wait-ready refuses bad flags naming them", "[wait-ready]") {
  const auto error_of = [](std::vector<std::string> args,
                           std::map<std::string, std::string> env = {}) {
    auto settings = parse_wait_ready_settings(args, weft::flags::environment_of(env));
    REQUIRE_FALSE(settings.has_value());
    return settings.error().message;
  };
  CHECK_THAT(error_of({"--admin-port", "0"}), Catch::Contains("--admin-port"));
  CHECK_THAT(error_of({}, {{"WEFT_PROXY_ADMIN_PORT", "x"}}),
             Catch::Contains("WEFT_PROXY_ADMIN_PORT"));
  CHECK_THAT(error_of({"--timeout", "soon"}), Catch::Contains("--timeout"));
  CHECK_THAT(error_of({"--address", "localhost"}), Catch::Contains("IPv4"));
  CHECK_THAT(error_of({"--port", "1"}), Catch::Contains("unknown flag --port"));
  CHECK_THAT(error_of({"--timeout"}), Catch::Contains("needs a value"));
  bool help = false;
  auto usage = parse_wait_ready_settings({"--help"}, weft::flags::environment_of({}), &help);
  CHECK(help);
  CHECK_THAT(usage.error().message, Catch::Contains("WEFT_PROXY_ADMIN_PORT"));
}

TEST_CASE("is_ready is false when nothing listens", "[wait-ready]") {
  // Port 1 on loopback: nothing listens there in a test environment.
  CHECK_FALSE(is_ready("127.0.0.1", 1, std::chrono::milliseconds(500)));
}
