#include "init/init_flags.h"

#include "weft/flags.h"

namespace weft::init {
namespace {

using capture::CaptureSettings;

// The capture settings' own flags, declared on CaptureSettings.
flags::Flag<InitFlags> capture_flag(flags::Flag<CaptureSettings> flag) {
  return flags::within(&InitFlags::settings, std::move(flag));
}

const flags::Program<InitFlags>& program() {
  static const flags::Program<InitFlags> table{
      .usage = "Usage: weft-init [flags]",
      .about = "weft-init: installs Weft's traffic-capture rules in the pod's network namespace.",
      .flags =
          {
              capture_flag(flags::integer("proxy-uid", &CaptureSettings::proxy_uid, 1, 2147483647,
                                          "the proxy's UID, exempt from capture")),
              capture_flag(flags::integer("inbound-port", &CaptureSettings::inbound_port, 1, 65535,
                                          "inbound TCP is redirected here")),
              capture_flag(flags::integer("outbound-port", &CaptureSettings::outbound_port, 1,
                                          65535, "outbound TCP is redirected here")),
              capture_flag(flags::integer("admin-port", &CaptureSettings::admin_port, 1, 65535,
                                          "never captured inbound")),
              capture_flag(flags::custom("skip-inbound-ports", &CaptureSettings::skip_inbound_ports,
                                         capture::parse_port_list, "e.g. 22,9000-9010")
                               .value_name("LIST")),
              capture_flag(flags::custom("skip-outbound-ports",
                                         &CaptureSettings::skip_outbound_ports,
                                         capture::parse_port_list, "e.g. 5432")
                               .value_name("LIST")),
              capture_flag(flags::custom("skip-subnets", &CaptureSettings::skip_subnets,
                                         capture::parse_subnet_list,
                                         "e.g. 10.96.0.0/12,169.254.169.254/32")
                               .value_name("LIST")),
              flags::text("iptables-restore", &InitFlags::iptables_restore,
                          "the program to feed the rules to", flags::TextRule::kNonEmpty)
                  .value_name("PATH"),
              flags::text("ip6tables-restore", &InitFlags::ip6tables_restore,
                          "the program to feed the IPv6 rules to", flags::TextRule::kNonEmpty)
                  .value_name("PATH"),
              flags::choice("ipv6", &InitFlags::ipv6,
                            {{"auto", "auto"}, {"on", "on"}, {"off", "off"}},
                            "capture IPv6 too (auto: when the kernel has IPv6)"),
              flags::boolean("dry-run", &InitFlags::dry_run, "print the rules, change nothing"),
          },
  };
  return table;
}

}  // namespace

std::string usage() {
  return flags::usage(program());
}

Result<InitFlags> parse_init_flags(const std::vector<std::string>& args) {
  auto parsed = flags::parse(program(), args);
  if (!parsed) return parsed.error();
  InitFlags result = std::move(parsed->options);
  result.help = parsed->help;
  if (result.help) return result;
  if (auto valid = capture::validate(result.settings); !valid) return valid.error();
  return result;
}

}  // namespace weft::init
