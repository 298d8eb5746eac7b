#include "weft/port_list.h"

#include <catch2/catch.hpp>

using weft::parse_port_list;
using weft::PortRange;
using weft::PortSet;

TEST_CASE("port list: canonical text round-trips", "[port_list]") {
  auto ports = parse_port_list(" 25, 443 ,8000-8100");
  REQUIRE(ports);
  CHECK(*ports == std::vector<PortRange>{{25, 25}, {443, 443}, {8000, 8100}});
  const auto text = weft::format_port_list(*ports);
  CHECK(text == "25,443,8000-8100");
  auto again = parse_port_list(text);
  REQUIRE(again);
  CHECK(*again == *ports);
}

TEST_CASE("port list: 64 entries accepted, 65 refused", "[port_list]") {
  std::string text;
  for (int i = 1; i <= 64; ++i) text += (i > 1 ? "," : "") + std::to_string(i);
  CHECK(parse_port_list(text));
  auto refused = parse_port_list(text + ",65");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("too many ports"));
}

TEST_CASE("port set: sorted, merged, binary-searched", "[port_list]") {
  const PortSet set({{9000, 9010}, {80, 80}, {9005, 9020}, {81, 81}, {100, 200}});
  CHECK(set.ranges() == std::vector<PortRange>{{80, 81}, {100, 200}, {9000, 9020}});
  for (const std::uint16_t port : {80, 81, 100, 150, 200, 9000, 9020}) {
    CHECK(set.contains(port));
  }
  for (const std::uint16_t port : {1, 79, 82, 99, 201, 8999, 9021, 65535}) {
    CHECK_FALSE(set.contains(port));
  }
  CHECK_FALSE(PortSet().contains(80));
  const PortSet all({{1, 65535}});
  CHECK(all.contains(1));
  CHECK(all.contains(65535));
  CHECK_FALSE(all.contains(0));
}
