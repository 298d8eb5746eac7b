#include "init/init_flags.h"

#include <charconv>

namespace weft::init {
namespace {

template <typename Integer>
Result<Integer> parse_number(const std::string& flag, const std::string& text, Integer min,
                             Integer max) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return Error{"--" + flag + ": '" + text + "' is not a number from " + std::to_string(min) +
                 " to " + std::to_string(max)};
  }
  return value;
}

}  // namespace

std::string usage() {
  return R"(weft-init: installs Weft's traffic-capture rules in the pod's network namespace.

Usage: weft-init [flags]
  --proxy-uid N               the proxy's UID, exempt from capture (default 2102)
  --inbound-port N            inbound TCP is redirected here (default 4143)
  --outbound-port N           outbound TCP is redirected here (default 4140)
  --admin-port N              never captured inbound (default 4191)
  --skip-inbound-ports LIST   e.g. 22,9000-9010
  --skip-outbound-ports LIST  e.g. 5432
  --skip-subnets LIST         e.g. 10.96.0.0/12,169.254.169.254/32
  --iptables-restore PATH     the program to feed the rules to (default iptables-restore)
  --dry-run                   print the rules, change nothing
  --help                      this text
)";
}

Result<InitFlags> parse_init_flags(const std::vector<std::string>& args) {
  InitFlags flags;
  auto& settings = flags.settings;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!arg.starts_with("--")) return Error{"unexpected argument '" + arg + "' (see --help)"};
    arg = arg.substr(2);
    if (arg == "help") {
      flags.help = true;
      continue;
    }
    if (arg == "dry-run") {
      flags.dry_run = true;
      continue;
    }
    std::string value;
    const std::string name = arg.substr(0, arg.find('='));
    if (name != "proxy-uid" && name != "inbound-port" && name != "outbound-port" &&
        name != "admin-port" && name != "skip-inbound-ports" && name != "skip-outbound-ports" &&
        name != "skip-subnets" && name != "iptables-restore") {
      return Error{"unknown flag --" + name + " (see --help)"};
    }
    if (const auto equals = arg.find('='); equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    } else {
      if (i + 1 >= args.size()) return Error{"--" + arg + " needs a value"};
      value = args[++i];
    }
    if (arg == "proxy-uid") {
      auto uid = parse_number<std::uint32_t>(arg, value, 1, 2147483647);
      if (!uid) return uid.error();
      settings.proxy_uid = *uid;
    } else if (arg == "inbound-port" || arg == "outbound-port" || arg == "admin-port") {
      auto port = parse_number<std::uint16_t>(arg, value, 1, 65535);
      if (!port) return port.error();
      (arg == "inbound-port"    ? settings.inbound_port
       : arg == "outbound-port" ? settings.outbound_port
                                : settings.admin_port) = *port;
    } else if (arg == "skip-inbound-ports" || arg == "skip-outbound-ports") {
      auto ports = capture::parse_port_list(value);
      if (!ports) return Error{"--" + arg + ": " + ports.error().message};
      (arg == "skip-inbound-ports" ? settings.skip_inbound_ports : settings.skip_outbound_ports) =
          std::move(*ports);
    } else if (arg == "skip-subnets") {
      auto subnets = capture::parse_subnet_list(value);
      if (!subnets) return Error{"--" + arg + ": " + subnets.error().message};
      settings.skip_subnets = std::move(*subnets);
    } else {  // iptables-restore
      if (value.empty()) return Error{"--iptables-restore must not be empty"};
      flags.iptables_restore = value;
    }
  }
  auto valid = capture::validate(settings);
  if (!valid) return valid.error();
  return flags;
}

}  // namespace weft::init
