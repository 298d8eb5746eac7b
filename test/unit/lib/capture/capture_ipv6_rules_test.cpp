#include <catch2/catch.hpp>
#include <string>

#include "weft/capture/rules.h"

using weft::capture::CaptureSettings;

TEST_CASE("IPv6: the default rule set is exact", "[capture][ipv6]") {
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
  CHECK(weft::capture::ip6tables_restore_rules(CaptureSettings{}) == expected);
}

TEST_CASE("IPv6: port skips apply, IPv4 subnets do not", "[capture][ipv6]") {
  CaptureSettings settings;
  settings.skip_inbound_ports = {{22, 22}};
  settings.skip_outbound_ports = {{5432, 5432}};
  settings.skip_subnets = {{0x0a000000, 8}};
  const auto rules = weft::capture::ip6tables_restore_rules(settings);
  CHECK(rules.find("-A WEFT_INBOUND -p tcp --dport 22 -j RETURN\n") != std::string::npos);
  CHECK(rules.find("-A WEFT_OUTBOUND -p tcp --dport 5432 -j RETURN\n") != std::string::npos);
  CHECK(rules.find("10.0.0.0/8") == std::string::npos);
  // The IPv4 rules keep the subnet.
  CHECK(weft::capture::iptables_restore_rules(settings).find("-A WEFT_OUTBOUND -d 10.0.0.0/8") !=
        std::string::npos);
}
