#include "weft/flags.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace weft::flags {

Env process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Env environment_of(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](std::string_view name) -> std::optional<std::string> {
    const auto found = variables.find(std::string(name));
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

Result<long long> parse_integer(std::string_view text, long long min, long long max) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max) {
    return Error{fmt::format("{} is not a number from {} to {}", detail::quote(text), min, max)};
  }
  return value;
}

Result<double> parse_number(std::string_view text, double min, double max) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value) || value < min || value > max) {
    return Error{fmt::format("{} is not a number from {} to {}", detail::quote(text),
                             detail::show_number(min), detail::show_number(max))};
  }
  return value;
}

Result<bool> parse_bool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return Error{detail::quote(text) + " must be true or false"};
}

Result<std::chrono::milliseconds> parse_duration_value(std::string_view text,
                                                       std::chrono::milliseconds min) {
  // "0" alone: the CRD syntax wants a unit, a flag need not.
  auto value = text == "0" ? Result<std::chrono::milliseconds>(std::chrono::milliseconds(0))
                           : parse_duration(text);
  if (!value) return value.error();
  if (*value < min) {
    if (min == std::chrono::milliseconds(1)) {
      return Error{detail::quote(text) + " must be more than 0"};
    }
    auto shown = format_duration(min);
    return Error{detail::quote(text) + " must be at least " + (shown ? *shown : "")};
  }
  return value;
}

Result<std::string> parse_ip_address(std::string_view text, IpFamily family) {
  const std::string copy(text);
  in6_addr scratch{};
  if (inet_pton(AF_INET, copy.c_str(), &scratch) == 1) return copy;
  if (family == IpFamily::kAny && inet_pton(AF_INET6, copy.c_str(), &scratch) == 1) return copy;
  return Error{detail::quote(text) + (family == IpFamily::kIpv4
                                          ? " is not an IPv4 address"
                                          : " is not an IPv4 or IPv6 address")};
}

Result<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules) {
  const std::string expected =
      rules.empty_host_is_any ? "HOST:PORT, :PORT or [IPv6]:PORT" : "HOST:PORT or [IPv6]:PORT";
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) {
      return Error{detail::quote(text) + " is not " + expected};
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return Error{detail::quote(text) + " is not " + expected};
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (host.empty() && rules.empty_host_is_any) host = "0.0.0.0";
  if (host.empty()) return Error{detail::quote(text) + " has no host"};
  if (rules.ip_literal) {
    if (auto address = parse_ip_address(host); !address) {
      return Error{detail::quote(text) + ": " + address.error().message};
    }
  }
  auto port = parse_integer(port_text, rules.min_port, 65535);
  if (!port) {
    return Error{fmt::format("{}: the port must be a number from {} to 65535", detail::quote(text),
                             rules.min_port)};
  }
  return HostPort{host, static_cast<std::uint16_t>(*port)};
}

std::string format_host_port(const HostPort& address, const HostPortRules& rules) {
  if (rules.empty_host_is_any && address.host == "0.0.0.0") {
    return ":" + std::to_string(address.port);
  }
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) parts.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

namespace detail {

Result<Scan> scan(const std::vector<Slot>& slots, const std::vector<std::string>& args) {
  Scan result;
  result.given.resize(slots.size());
  std::optional<std::size_t> arguments;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].shape == Shape::kArguments) arguments = i;
  }
  // The first problem is reported unless --help comes anywhere: help wins.
  std::optional<Error> problem;
  const auto fail = [&](std::string message) {
    if (!problem) problem = Error{std::move(message)};
  };
  for (std::size_t at = 0; at < args.size(); ++at) {
    const std::string_view arg = args[at];
    if (arg == "-h" || arg == "--help") {
      result.help = true;
      continue;
    }
    if (!arg.starts_with("--") || arg == "--") {
      if (arguments) {
        result.given[*arguments].emplace_back(arg);
      } else {
        fail("unexpected argument " + quote(arg));
      }
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string_view name =
        arg.substr(2, equals == std::string_view::npos ? arg.npos : equals - 2);
    const std::optional<std::string_view> inline_value =
        equals == std::string_view::npos ? std::nullopt
                                         : std::optional<std::string_view>(arg.substr(equals + 1));
    if (name == "help") {  // --help=true, --help=false
      const auto on = parse_bool(*inline_value);
      if (!on) {
        fail("--help takes no value, or true or false, not " + quote(*inline_value));
      } else if (*on) {
        result.help = true;
      }
      continue;
    }
    const auto slot = std::find_if(slots.begin(), slots.end(), [&](const Slot& s) {
      return s.shape != Shape::kArguments && s.name == name;
    });
    if (slot == slots.end()) {
      fail("unknown flag --" + std::string(name));
      continue;
    }
    auto& values = result.given[static_cast<std::size_t>(slot - slots.begin())];
    if (slot->shape == Shape::kSwitch) {
      if (inline_value) {
        if (!parse_bool(*inline_value)) {
          fail("--" + std::string(name) + " takes no value, or true or false, not " +
               quote(*inline_value));
          continue;
        }
        values.emplace_back(*inline_value);
      } else if (at + 1 < args.size() && (args[at + 1] == "true" || args[at + 1] == "false")) {
        values.push_back(args[++at]);  // --leader-elect false, as pflag's users write it
      } else {
        values.emplace_back("true");
      }
    } else if (inline_value) {
      values.emplace_back(*inline_value);
    } else if (at + 1 < args.size()) {
      values.push_back(args[++at]);
    } else {
      fail("--" + std::string(name) + " needs a value");
    }
  }
  if (result.help) return result;
  if (problem) return *problem;
  return result;
}

std::string variable_of(std::string_view prefix, std::string_view name, std::string_view variable) {
  if (!variable.empty() || prefix.empty() || name.empty()) return std::string(variable);
  std::string derived(prefix);
  for (char c : name) {
    derived += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return derived;
}

std::string render(std::string_view usage, std::string_view about, const std::vector<Row>& rows,
                   std::string_view footer) {
  constexpr std::size_t kMaxColumn = 34;  // wider names put their help on the next line
  std::vector<Row> all = rows;
  all.push_back({"-h, --help", "print this help and exit", "", ""});
  std::size_t column = 0;
  for (const auto& row : all) {
    if (row.left.size() + 4 <= kMaxColumn) column = std::max(column, row.left.size() + 4);
  }
  std::string text(usage);
  if (!text.ends_with('\n')) text += '\n';
  if (!about.empty()) {
    text += '\n';
    text += about;
    if (!text.ends_with('\n')) text += '\n';
  }
  text += "\nFlags:\n";
  constexpr std::size_t kMaxWidth = 100;  // a longer line moves its default and variable down
  for (const auto& row : all) {
    std::string help = row.help;
    std::string extra;
    if (!row.default_text.empty()) extra += "(default " + row.default_text + ")";
    if (!row.variable.empty()) extra += (extra.empty() ? "[$" : " [$") + row.variable + "]";
    if (!extra.empty()) {
      const auto last_line = help.rfind('\n');
      const std::size_t last = help.size() - (last_line == std::string::npos ? 0 : last_line + 1);
      help += (column + last + 1 + extra.size() > kMaxWidth ? "\n" : " ") + extra;
    }
    std::string line = "  " + row.left;
    if (line.size() + 1 > column) {
      text += line + '\n';
      line.clear();
    }
    std::size_t start = 0;
    while (start <= help.size()) {
      const auto newline = help.find('\n', start);
      const std::string part =
          help.substr(start, newline == std::string::npos ? help.npos : newline - start);
      line.resize(column, ' ');
      text += line + part + '\n';
      line.clear();
      if (newline == std::string::npos) break;
      start = newline + 1;
    }
  }
  if (!footer.empty()) {
    text += '\n';
    text += footer;
    if (!text.ends_with('\n')) text += '\n';
  }
  return text;
}

std::string quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 200;
  if (text.size() > kMaxShown) return "'" + std::string(text.substr(0, kMaxShown)) + "...'";
  return "'" + std::string(text) + "'";
}

std::string show_number(double value) {
  return fmt::format("{}", value);
}

std::string one_of(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

}  // namespace detail
}  // namespace weft::flags
