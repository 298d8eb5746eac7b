#include <catch2/catch.hpp>

#include "init/init_flags.h"

using weft::init::parse_init_flags;

TEST_CASE("weft-init captures IPv6 by default (auto)", "[init][ipv6]") {
  auto flags = parse_init_flags({});
  REQUIRE(flags);
  CHECK(flags->ipv6 == "auto");
  CHECK(flags->ip6tables_restore == "ip6tables-restore");
}

TEST_CASE("weft-init's IPv6 flags", "[init][ipv6]") {
  auto flags =
      parse_init_flags({"--ipv6", "off", "--ip6tables-restore", "/sbin/ip6tables-nft-restore"});
  REQUIRE(flags);
  CHECK(flags->ipv6 == "off");
  CHECK(flags->ip6tables_restore == "/sbin/ip6tables-nft-restore");
  auto bad = parse_init_flags({"--ipv6", "maybe"});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("--ipv6"));
}
