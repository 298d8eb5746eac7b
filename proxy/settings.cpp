#include "proxy/settings.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <map>

#include "weft/constants.h"
#include "weft/duration.h"
#include "weft/kube/config.h"

namespace weft::proxy {
namespace {

struct Flag {
  std::string name;  // without "--"
  std::string help;
  std::string default_text;
  std::function<std::optional<std::string>(Settings&, const std::string&)> apply;  // error text
};

std::optional<std::uint64_t> parse_unsigned(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || value > max) {
    return std::nullopt;
  }
  return value;
}

auto port_flag(std::uint16_t Settings::*field) {
  return [field](Settings& s, const std::string& v) -> std::optional<std::string> {
    // 0 lets the kernel choose (tests read the ports from the start-up log).
    const auto port = parse_unsigned(v, 65535);
    if (!port) return "must be a port from 0 to 65535";
    s.*field = static_cast<std::uint16_t>(*port);
    return std::nullopt;
  };
}

auto duration_flag(std::chrono::milliseconds Settings::*field, bool allow_zero) {
  return [field, allow_zero](Settings& s, const std::string& v) -> std::optional<std::string> {
    const auto duration = parse_duration(v);
    if (!duration.has_value()) return duration.error().message;
    if (!allow_zero && duration.value().count() == 0) return "must be greater than 0s";
    s.*field = duration.value();
    return std::nullopt;
  };
}

auto fallback_flag(std::optional<HostPort> Settings::*field) {
  return [field](Settings& s, const std::string& v) -> std::optional<std::string> {
    if (v.empty()) {
      s.*field = std::nullopt;
      return std::nullopt;
    }
    auto parsed = parse_host_port(v);
    if (!parsed.has_value()) return parsed.error().message;
    s.*field = parsed.value();
    return std::nullopt;
  };
}

std::vector<Flag> flags() {
  return {
      {"config", "proxy configuration document (the mounted ConfigMap)",
       std::string(kProxyConfigMountPath) + "/" + std::string(kProxyConfigKey),
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         if (v.empty()) return "must not be empty";
         s.config_path = v;
         return std::nullopt;
       }},
      {"listen-address", "address the three listeners bind", "0.0.0.0",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         in6_addr scratch{};
         if (inet_pton(AF_INET, v.c_str(), &scratch) != 1 &&
             inet_pton(AF_INET6, v.c_str(), &scratch) != 1) {
           return "must be an IPv4 or IPv6 address";
         }
         s.listen_address = v;
         return std::nullopt;
       }},
      {"outbound-port", "port iptables redirects the pod's outbound TCP to",
       std::to_string(kProxyOutboundPort), port_flag(&Settings::outbound_port)},
      {"inbound-port", "port iptables redirects the pod's inbound TCP to",
       std::to_string(kProxyInboundPort), port_flag(&Settings::inbound_port)},
      {"admin-port", "port of /live, /ready, /metrics and /config", std::to_string(kProxyAdminPort),
       port_flag(&Settings::admin_port)},
      {"workers", "worker threads, each with its own event loop", "1",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         const auto n = parse_unsigned(v, 64);
         if (!n || *n == 0) return "must be an integer from 1 to 64";
         s.workers = *n;
         return std::nullopt;
       }},
      {"opaque-ports", "comma-separated ports proxied as TCP without protocol detection", "",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         s.opaque_ports.clear();
         std::string_view rest = v;
         while (!rest.empty()) {
           const auto comma = rest.find(',');
           const auto port = parse_unsigned(rest.substr(0, comma), 65535);
           if (!port || *port == 0) return "must be a comma-separated list of ports";
           s.opaque_ports.push_back(static_cast<std::uint16_t>(*port));
           if (comma == std::string_view::npos) break;
           rest.remove_prefix(comma + 1);
         }
         return std::nullopt;
       }},
      {"detect-timeout", "wait this long for a client's first bytes before treating it as TCP",
       "1s", duration_flag(&Settings::detect_timeout, false)},
      {"connect-timeout", "limit on connecting to an endpoint", "1s",
       duration_flag(&Settings::connect_timeout, false)},
      {"idle-timeout", "close client connections idle this long between requests", "60s",
       duration_flag(&Settings::idle_timeout, false)},
      {"header-timeout", "limit on receiving a request head", "10s",
       duration_flag(&Settings::header_timeout, false)},
      {"shutdown-grace", "on SIGTERM, time for requests in flight to finish", "25s",
       duration_flag(&Settings::shutdown_grace, true)},
      {"outbound-fallback", "HOST:PORT for outbound connections not redirected by iptables",
       "(none: closed)", fallback_flag(&Settings::outbound_fallback)},
      {"inbound-fallback", "HOST:PORT for inbound connections not redirected by iptables",
       "(none: closed)", fallback_flag(&Settings::inbound_fallback)},
      {"kube-watch", "also watch the ConfigMap through the API server: auto, on, off", "auto",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         if (v != "auto" && v != "on" && v != "off") return "must be auto, on or off";
         s.kube_watch = v;
         return std::nullopt;
       }},
      {"kube-watch-timeout", "length of one watch request, resumed when the server ends it", "290s",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         const auto duration = parse_duration(v);
         if (!duration.has_value()) return duration.error().message;
         if (duration.value() < std::chrono::seconds(1)) return "must be at least 1s";
         s.kube_watch_timeout = std::chrono::duration_cast<std::chrono::seconds>(duration.value());
         return std::nullopt;
       }},
      {"service-account-dir",
       "token, ca.crt and namespace for the ConfigMap watch (the API server is "
       "KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT)",
       std::string(kube::kServiceAccountDir),
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         if (v.empty()) return "must not be empty";
         s.service_account_dir = v;
         return std::nullopt;
       }},
      {"pod-namespace", "namespace of the ConfigMap (default: the service account's)", "",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         s.pod_namespace = v;
         return std::nullopt;
       }},
      {"log-level", "debug, info, warn or error", "info",
       [](Settings& s, const std::string& v) -> std::optional<std::string> {
         auto level = parse_log_level(v);
         if (!level.has_value()) return level.error().message;
         s.log_level = level.value();
         return std::nullopt;
       }},
  };
}

std::string env_name(const std::string& flag) {
  std::string name = "WEFT_PROXY_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<HostPort> parse_host_port(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return Error{"expected [IPv6]:PORT"};
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return Error{"expected HOST:PORT"};
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  in6_addr scratch{};
  if (inet_pton(AF_INET, host.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &scratch) != 1) {
    return Error{"'" + host + "' is not an IPv4 or IPv6 address"};
  }
  const auto port = parse_unsigned(port_text, 65535);
  if (!port || *port == 0) return Error{"port must be from 1 to 65535"};
  return HostPort{host, static_cast<std::uint16_t>(*port)};
}

std::string usage() {
  std::string text =
      "usage: weft-proxy [--config FILE] [flags]\n"
      "       weft-proxy wait-ready [--admin-port PORT] [--timeout DURATION]\n\n"
      "Each flag can also be set by the environment variable shown; a flag wins.\n\n";
  for (const Flag& flag : flags()) {
    text += "  --" + flag.name + " VALUE  (" + env_name(flag.name) + ")\n      " + flag.help +
            "; default " + (flag.default_text.empty() ? "(none)" : flag.default_text) + "\n";
  }
  return text;
}

Result<Settings> parse_settings(const std::vector<std::string>& args, const EnvLookup& env,
                                bool* help_requested) {
  Settings settings;
  std::map<std::string, std::string> values;  // flag -> value, environment first
  const std::vector<Flag> all = flags();
  for (const Flag& flag : all) {
    if (auto value = env(env_name(flag.name))) values[flag.name] = *value;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      if (help_requested != nullptr) *help_requested = true;
      return Error{usage()};
    }
    if (!arg.starts_with("--")) return Error{"unexpected argument '" + arg + "'"};
    std::string name = arg.substr(2);
    std::string value;
    if (const auto equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Error{"flag --" + name + " needs a value"};
    }
    bool known = false;
    for (const Flag& flag : all) known = known || flag.name == name;
    if (!known) return Error{"unknown flag --" + name + " (see --help)"};
    values[name] = value;
  }
  // Defaults first, then the values given, so every field is validated once.
  for (const Flag& flag : all) {
    const auto given = values.find(flag.name);
    std::string value = given != values.end() ? given->second : flag.default_text;
    if (given == values.end() && (value.empty() || value.starts_with("("))) continue;
    if (auto error = flag.apply(settings, value)) {
      return Error{"--" + flag.name + " (" + env_name(flag.name) + ") '" + value + "': " + *error};
    }
  }
  const auto clash = [](std::uint16_t a, std::uint16_t b) { return a != 0 && a == b; };
  if (clash(settings.outbound_port, settings.inbound_port) ||
      clash(settings.outbound_port, settings.admin_port) ||
      clash(settings.inbound_port, settings.admin_port)) {
    return Error{"--outbound-port, --inbound-port and --admin-port must differ"};
  }
  return settings;
}

}  // namespace weft::proxy
