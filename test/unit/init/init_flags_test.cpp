#include "init/init_flags.h"

#include <catch2/catch.hpp>

#include "weft/capture/rules.h"

using weft::init::parse_init_flags;

TEST_CASE("weft-init reads the args the webhook writes", "[init]") {
  auto flags = parse_init_flags(
      {"--proxy-uid", "1337", "--inbound-port", "15006", "--outbound-port", "15001", "--admin-port",
       "15020", "--skip-inbound-ports", "22,9000-9010", "--skip-outbound-ports=5432",
       "--skip-subnets", "10.96.0.0/12", "--dry-run"});
  REQUIRE(flags);
  CHECK(flags->dry_run);
  const auto& settings = flags->settings;
  CHECK(settings.proxy_uid == 1337);
  CHECK(settings.inbound_port == 15006);
  CHECK(settings.outbound_port == 15001);
  CHECK(settings.admin_port == 15020);
  CHECK(weft::capture::format_port_list(settings.skip_inbound_ports) == "22,9000-9010");
  CHECK(weft::capture::format_subnet_list(settings.skip_subnets) == "10.96.0.0/12");

  auto defaults = parse_init_flags({});
  REQUIRE(defaults);
  CHECK(weft::capture::iptables_restore_rules(defaults->settings) ==
        weft::capture::iptables_restore_rules(weft::capture::CaptureSettings{}));
}

TEST_CASE("weft-init refuses bad args", "[init]") {
  const auto message = [](std::vector<std::string> args) {
    auto flags = parse_init_flags(args);
    REQUIRE_FALSE(flags);
    return flags.error().message;
  };
  CHECK_THAT(message({"--proxy-uid", "0"}), Catch::Contains("--proxy-uid"));
  CHECK_THAT(message({"--inbound-port", "65536"}), Catch::Contains("--inbound-port"));
  CHECK_THAT(message({"--inbound-port", "4140"}), Catch::Contains("distinct"));
  CHECK_THAT(message({"--skip-subnets", "10.0.0.1/8"}), Catch::Contains("--skip-subnets:"));
  CHECK_THAT(message({"--skip-inbound-ports", "x"}), Catch::Contains("--skip-inbound-ports:"));
  CHECK_THAT(message({"--nope"}), Catch::Contains("unknown flag --nope"));
  CHECK_THAT(message({"--admin-port"}), Catch::Contains("needs a value"));
}

TEST_CASE("weft-init's help lists its flags with their defaults", "[init]") {
  const std::string usage = weft::init::usage();
  CHECK_THAT(usage, Catch::Contains("--proxy-uid N"));
  CHECK_THAT(usage, Catch::Contains("(default 2102)"));
  CHECK_THAT(usage, Catch::Contains("--dry-run"));
  auto help = parse_init_flags({"--help"});
  REQUIRE(help);
  CHECK(help->help);
}

TEST_CASE("weft-init's --dry-run takes =true and =false like every bool flag", "[init]") {
  auto on = parse_init_flags({"--dry-run=true"});
  REQUIRE(on);
  CHECK(on->dry_run);
  auto off = parse_init_flags({"--dry-run", "--dry-run=false"});
  REQUIRE(off);
  CHECK_FALSE(off->dry_run);
}
