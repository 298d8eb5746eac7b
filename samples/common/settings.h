#pragma once

// Command-line flags and environment variables for the sample programs, read
// once at start into a plain options struct (a bad value is a usage error
// before any port is bound). Each setting has a flag and an environment
// variable; the flag wins. A repeatable setting collects every flag given, or
// splits its environment variable at commas.
//
//   std::vector<Setting<Options>> table = {
//       {"--port", "WEFT_SAMPLE_PORT", "PORT", "listening port", Arity::kOne, apply_port}};
//   auto options = apply_settings(table, args, env);

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

namespace weft::samples {

// Reads an environment variable; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

enum class Arity {
  kOne,         // --flag VALUE or --flag=VALUE, at most once
  kRepeatable,  // --flag VALUE, any number of times
  kSwitch,      // --flag alone; the value passed to apply is "true"
  kPositional,  // arguments that are not flags (flag is empty)
};

template <typename Options>
struct Setting {
  std::string_view flag;  // "--port"; empty for kPositional
  std::string_view env;   // "WEFT_SAMPLE_PORT"; empty if none
  std::string_view value_name;
  std::string_view help;
  Arity arity;
  // Returns an error message naming the problem, or nothing.
  std::function<std::optional<std::string>(Options&, std::string_view value)> apply;
};

// Value parsers shared by the settings tables; errors read "must be ...".
Result<std::uint16_t> parse_port_value(std::string_view text);  // 0 to 65535
Result<long long> parse_integer_value(std::string_view text, long long min, long long max);
// A CRD-style duration ("500ms", "1m30s"); "0" alone means zero.
Result<std::chrono::milliseconds> parse_duration_value(std::string_view text);

namespace detail {

// Splits args into values per setting index; fails on unknown or repeated flags.
Result<std::map<std::size_t, std::vector<std::string>>> collect_flags(
    const std::vector<std::string_view>& flags, const std::vector<Arity>& arities,
    const std::vector<std::string>& args);

std::vector<std::string> split_commas(std::string_view text);

}  // namespace detail

template <typename Options>
Result<Options> apply_settings(const std::vector<Setting<Options>>& table,
                               const std::vector<std::string>& args, const EnvLookup& env,
                               Options options = {}) {
  std::vector<std::string_view> flags;
  std::vector<Arity> arities;
  for (const auto& setting : table) {
    flags.push_back(setting.flag);
    arities.push_back(setting.arity);
  }
  auto given = detail::collect_flags(flags, arities, args);
  if (!given) return given.error();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& setting = table[i];
    std::vector<std::string> values;
    std::string source;
    if (auto it = given->find(i); it != given->end()) {
      values = it->second;
      source = setting.flag.empty() ? std::string("argument") : std::string(setting.flag);
    } else if (!setting.env.empty()) {
      if (auto text = env(setting.env); text && !text->empty()) {
        values = setting.arity == Arity::kRepeatable || setting.arity == Arity::kPositional
                     ? detail::split_commas(*text)
                     : std::vector<std::string>{*text};
        source = std::string(setting.env);
      }
    }
    for (const auto& value : values) {
      if (auto problem = setting.apply(options, value)) return Error{source + ": " + *problem};
    }
  }
  return options;
}

// One line per setting: flag, value name, environment variable, help.
template <typename Options>
std::string settings_usage(const std::vector<Setting<Options>>& table) {
  std::string text;
  for (const auto& setting : table) {
    std::string left =
        setting.flag.empty() ? std::string(setting.value_name) : std::string(setting.flag);
    if (!setting.flag.empty() && setting.arity != Arity::kSwitch) {
      left += " " + std::string(setting.value_name);
    }
    text += "  " + left;
    text += std::string(left.size() < 32 ? 32 - left.size() : 1, ' ');
    text += std::string(setting.help);
    if (!setting.env.empty()) text += " [$" + std::string(setting.env) + "]";
    text += "\n";
  }
  return text;
}

}  // namespace weft::samples
