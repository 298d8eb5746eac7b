// The inbound side delivers only to the pod's own addresses: the pure
// decision over a set of addresses, how that set is built (configured or the
// interfaces'), and the throttle that bounds the refusals' log lines.

#include <catch2/catch.hpp>

#include "proxy/core/original_destination.h"
#include "proxy/settings.h"
#include "weft/log_throttle.h"

using namespace weft::proxy;
using weft::LogThrottle;
using namespace std::chrono_literals;

namespace {

tcp::endpoint at(const char* address, std::uint16_t port = 8080) {
  return {asio::ip::make_address(address), port};
}

}  // namespace

TEST_CASE("inbound connections are delivered only to the pod's own addresses", "[inbound]") {
  const OwnAddresses own({asio::ip::make_address("10.1.2.3"), asio::ip::make_address("fd00::3")});
  CHECK(delivers_to_own_pod(at("10.1.2.3"), own));
  CHECK(delivers_to_own_pod(at("10.1.2.3", 1), own));  // any port of the pod
  CHECK(delivers_to_own_pod(at("fd00::3"), own));
  CHECK(delivers_to_own_pod(at("::ffff:10.1.2.3"), own));  // IPv4-mapped is the same address
  // A neighbour's crafted destination: another pod, the node, a Service, the internet.
  CHECK_FALSE(delivers_to_own_pod(at("10.1.2.4"), own));
  CHECK_FALSE(delivers_to_own_pod(at("10.96.0.10"), own));
  CHECK_FALSE(delivers_to_own_pod(at("169.254.169.254", 80), own));
  CHECK_FALSE(delivers_to_own_pod(at("fd00::4"), own));
  CHECK_FALSE(delivers_to_own_pod(at("127.0.0.1"), own));  // only what is listed
  // None known: nothing is delivered (fail closed).
  CHECK_FALSE(delivers_to_own_pod(at("10.1.2.3"), OwnAddresses({})));
}

TEST_CASE("own addresses come from the settings, else from the interfaces", "[inbound]") {
  const auto configured = own_addresses({"10.1.2.3", "fd00::3"});
  REQUIRE(configured.has_value());
  CHECK(configured.value().addresses().size() == 2);
  CHECK(configured.value().contains(asio::ip::make_address("fd00::3")));
  CHECK_FALSE(configured.value().contains(asio::ip::make_address("127.0.0.1")));

  CHECK_FALSE(own_addresses({"not-an-address"}).has_value());

  // Every network namespace has loopback: the interfaces' list holds it.
  const auto interfaces = own_addresses({});
  REQUIRE(interfaces.has_value());
  CHECK(interfaces.value().contains(asio::ip::make_address("127.0.0.1")));
  CHECK_FALSE(interfaces.value().contains(asio::ip::make_address("192.0.2.77")));  // TEST-NET-1
}

TEST_CASE("a throttled log says one line per interval and counts the rest", "[inbound]") {
  LogThrottle throttle(1s);
  const LogThrottle::Clock::time_point start{1000s};
  CHECK(throttle.admit(start) == std::optional<std::uint64_t>(0));
  CHECK_FALSE(throttle.admit(start).has_value());
  CHECK_FALSE(throttle.admit(start + 999ms).has_value());
  CHECK(throttle.admit(start + 1s) == std::optional<std::uint64_t>(2));  // two skipped
  CHECK_FALSE(throttle.admit(start + 1500ms).has_value());
  CHECK(throttle.admit(start + 10s) == std::optional<std::uint64_t>(1));
}

TEST_CASE("settings: own addresses are a comma-separated list of IP literals",
          "[inbound][settings]") {
  const auto no_env = weft::flags::environment_of({});
  const auto none = parse_settings({}, no_env);
  REQUIRE(none.has_value());
  CHECK(none.value().own_addresses.empty());  // the interfaces' addresses
  const auto set = parse_settings({"--own-addresses", "10.1.2.3,fd00::3"}, no_env);
  REQUIRE(set.has_value());
  CHECK(set.value().own_addresses == std::vector<std::string>{"10.1.2.3", "fd00::3"});
  CHECK_FALSE(parse_settings({"--own-addresses", "10.1.2.3,pod"}, no_env).has_value());
}
