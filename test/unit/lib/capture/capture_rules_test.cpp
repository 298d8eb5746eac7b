#include <catch2/catch.hpp>
#include <string>

#include "weft/capture/rules.h"

using weft::capture::CaptureSettings;
using weft::capture::Ipv4Subnet;
using weft::capture::parse_port_list;
using weft::capture::parse_subnet_list;
using weft::capture::PortRange;

TEST_CASE("port lists: single ports, ranges, spaces, empty", "[capture]") {
  auto ports = parse_port_list(" 25, 443 ,8000-8100");
  REQUIRE(ports);
  CHECK(*ports == std::vector<PortRange>{{25, 25}, {443, 443}, {8000, 8100}});
  CHECK(weft::capture::format_port_list(*ports) == "25,443,8000-8100");
  auto empty = parse_port_list("");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto blank = parse_port_list("   ");
  REQUIRE(blank);
  CHECK(blank->empty());
  auto bounds = parse_port_list("1,65535,1-65535");
  REQUIRE(bounds);
  CHECK(bounds->size() == 3);
}

TEST_CASE("port lists: bad entries are refused with the entry named", "[capture]") {
  const auto message = [](std::string_view text) {
    auto result = parse_port_list(text);
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK_THAT(message("0"), Catch::Contains("'0' is not a port"));
  CHECK_THAT(message("65536"), Catch::Contains("'65536'"));
  CHECK_THAT(message("-1"), Catch::Contains("'-1'"));
  CHECK_THAT(message("+80"), Catch::Contains("'+80'"));
  CHECK_THAT(message("http"), Catch::Contains("'http'"));
  CHECK_THAT(message("80,,81"), Catch::Contains("empty entry"));
  CHECK_THAT(message("80,"), Catch::Contains("empty entry"));
  CHECK_THAT(message("9000-8000"), Catch::Contains("ends before it starts"));
  CHECK_THAT(message("80-"), Catch::Contains("'80-'"));
  CHECK_THAT(message("1 2"), Catch::Contains("'1 2'"));
  CHECK_THAT(message("99999999999999999999"), Catch::Contains("is not a port"));
  std::string many;
  for (int i = 1; i <= 65; ++i) many += std::to_string(i) + ",";
  many.pop_back();
  CHECK_THAT(message(many), Catch::Contains("too many ports"));
}

TEST_CASE("subnet lists: valid, canonical, and refusals with reasons", "[capture]") {
  auto subnets = parse_subnet_list("10.0.0.0/8, 192.168.1.7/32,0.0.0.0/0");
  REQUIRE(subnets);
  CHECK(*subnets == std::vector<Ipv4Subnet>{{0x0a000000, 8}, {0xc0a80107, 32}, {0, 0}});
  CHECK(weft::capture::format_subnet_list(*subnets) == "10.0.0.0/8,192.168.1.7/32,0.0.0.0/0");

  const auto message = [](std::string_view text) {
    auto result = parse_subnet_list(text);
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK_THAT(message("10.0.0.1/8"), Catch::Contains("did you mean 10.0.0.0/8?"));
  CHECK_THAT(message("10.0.0.1"), Catch::Contains("10.0.0.1/32"));
  CHECK_THAT(message("fd00::/8"), Catch::Contains("IPv6"));
  CHECK_THAT(message("10.0.0/8"), Catch::Contains("not an IPv4 subnet"));
  CHECK_THAT(message("10.0.0.0.0/8"), Catch::Contains("not an IPv4 subnet"));
  CHECK_THAT(message("256.0.0.0/8"), Catch::Contains("not an IPv4 subnet"));
  CHECK_THAT(message("010.0.0.0/8"), Catch::Contains("not an IPv4 subnet"));
  CHECK_THAT(message("10.0.0.0/33"), Catch::Contains("prefix length"));
  CHECK_THAT(message("10.0.0.0/"), Catch::Contains("prefix length"));
  CHECK_THAT(message("10.0.0.0/08"), Catch::Contains("prefix length"));
  CHECK_THAT(message("10.0.0.0/8,,"), Catch::Contains("empty entry"));
}

TEST_CASE("the default rule set is exact", "[capture]") {
  const std::string expected =
      "*nat\n"
      ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":POSTROUTING ACCEPT [0:0]\n"
      ":WEFT_INBOUND - [0:0]\n:WEFT_INBOUND_REDIRECT - [0:0]\n"
      ":WEFT_OUTBOUND - [0:0]\n:WEFT_OUTBOUND_REDIRECT - [0:0]\n"
      "-A PREROUTING -p tcp -j WEFT_INBOUND\n"
      "-A WEFT_INBOUND -p tcp --dport 4191 -j RETURN\n"
      "-A WEFT_INBOUND -p tcp -j WEFT_INBOUND_REDIRECT\n"
      "-A WEFT_INBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4143\n"
      "-A OUTPUT -p tcp -j WEFT_OUTBOUND\n"
      "-A WEFT_OUTBOUND -m owner --uid-owner 2102 -j RETURN\n"
      "-A WEFT_OUTBOUND -o lo -j RETURN\n"
      "-A WEFT_OUTBOUND -p tcp -j WEFT_OUTBOUND_REDIRECT\n"
      "-A WEFT_OUTBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4140\n"
      "COMMIT\n";
  CHECK(weft::capture::iptables_restore_rules(CaptureSettings{}) == expected);
}

TEST_CASE("skips become RETURN rules before the redirect", "[capture]") {
  CaptureSettings settings;
  settings.skip_inbound_ports = {{22, 22}, {9000, 9010}};
  settings.skip_outbound_ports = {{5432, 5432}};
  settings.skip_subnets = {{0x0a000000, 8}};
  const auto rules = weft::capture::iptables_restore_rules(settings);
  const auto before_redirect = [&](const std::string& rule, const std::string& redirect) {
    const auto at = rules.find(rule);
    REQUIRE(at != std::string::npos);
    CHECK(at < rules.find(redirect));
  };
  before_redirect("-A WEFT_INBOUND -p tcp --dport 22 -j RETURN\n",
                  "-A WEFT_INBOUND -p tcp -j WEFT_INBOUND_REDIRECT");
  before_redirect("-A WEFT_INBOUND -p tcp --dport 9000:9010 -j RETURN\n",
                  "-A WEFT_INBOUND -p tcp -j WEFT_INBOUND_REDIRECT");
  before_redirect("-A WEFT_OUTBOUND -p tcp --dport 5432 -j RETURN\n",
                  "-A WEFT_OUTBOUND -p tcp -j WEFT_OUTBOUND_REDIRECT");
  before_redirect("-A WEFT_OUTBOUND -d 10.0.0.0/8 -j RETURN\n",
                  "-A WEFT_OUTBOUND -p tcp -j WEFT_OUTBOUND_REDIRECT");
}

TEST_CASE("settings are validated", "[capture]") {
  CHECK(weft::capture::validate(CaptureSettings{}));
  CaptureSettings root;
  root.proxy_uid = 0;
  CHECK_THAT(weft::capture::validate(root).error().message, Catch::Contains("UID must not be 0"));
  CaptureSettings same;
  same.outbound_port = same.inbound_port;
  CHECK_THAT(weft::capture::validate(same).error().message, Catch::Contains("distinct"));
  CaptureSettings zero;
  zero.admin_port = 0;
  CHECK_THAT(weft::capture::validate(zero).error().message, Catch::Contains("must not be 0"));
}
