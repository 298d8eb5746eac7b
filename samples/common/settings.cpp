#include "samples/common/settings.h"

#include <charconv>
#include <cstdlib>

#include "weft/duration.h"

namespace weft::samples {

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<long long> parse_integer_value(std::string_view text, long long min, long long max) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max) {
    return Error{"\"" + std::string(text) + "\" must be a whole number from " +
                 std::to_string(min) + " to " + std::to_string(max)};
  }
  return value;
}

Result<std::uint16_t> parse_port_value(std::string_view text) {
  auto value = parse_integer_value(text, 0, 65535);
  if (!value) return value.error();
  return static_cast<std::uint16_t>(*value);
}

Result<std::chrono::milliseconds> parse_duration_value(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  return parse_duration(text);
}

namespace detail {

Result<std::map<std::size_t, std::vector<std::string>>> collect_flags(
    const std::vector<std::string_view>& flags, const std::vector<Arity>& arities,
    const std::vector<std::string>& args) {
  std::map<std::size_t, std::vector<std::string>> given;
  auto find = [&](std::string_view flag) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < flags.size(); ++i) {
      if (!flags[i].empty() && flags[i] == flag) return i;
    }
    return std::nullopt;
  };
  std::optional<std::size_t> positional;
  for (std::size_t i = 0; i < arities.size(); ++i) {
    if (arities[i] == Arity::kPositional) positional = i;
  }

  for (std::size_t at = 0; at < args.size(); ++at) {
    std::string_view arg = args[at];
    if (!arg.starts_with("--")) {
      if (!positional) return Error{"unexpected argument \"" + std::string(arg) + "\""};
      given[*positional].emplace_back(arg);
      continue;
    }
    const std::size_t equals = arg.find('=');
    std::string_view name = arg.substr(0, equals);
    auto index = find(name);
    if (!index) return Error{"unknown flag " + std::string(name) + " (see --help)"};
    const Arity arity = arities[*index];
    std::string value;
    if (arity == Arity::kSwitch) {
      if (equals != std::string_view::npos) {
        return Error{std::string(name) + " takes no value"};
      }
      value = "true";
    } else if (equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (at + 1 < args.size()) {
      value = args[++at];
    } else {
      return Error{std::string(name) + " needs a value"};
    }
    auto& values = given[*index];
    if (arity != Arity::kRepeatable && !values.empty()) {
      return Error{std::string(name) + " given more than once"};
    }
    values.push_back(std::move(value));
  }
  return given;
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

}  // namespace detail

}  // namespace weft::samples
