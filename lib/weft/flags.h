#pragma once

// One command-line parser for every Weft program. A program declares its flags
// once, in a table, each bound to a field of its options struct; the field's
// own initial value is the default:
//
//   struct Options { int workers = 2; std::chrono::milliseconds timeout{1000}; };
//   const flags::Program<Options> program{
//       .usage = "Usage: weft-thing [flags]",
//       .flags = {flags::integer("workers", &Options::workers, 1, 64, "worker threads"),
//                 flags::duration("timeout", &Options::timeout, "time
//                 limit").env("WEFT_TIMEOUT")}};
//   Result<flags::Parsed<Options>> parsed = flags::parse(program, args, env);
//
// Every program then gets the same rules:
// - `--name value` and `--name=value`; a bool flag alone means true and also
//   takes `=true`/`=false` (or a following `true`/`false` argument);
// - `-h`/`--help` anywhere: Parsed::help, nothing else is checked; usage()
//   renders the table (value name, help line, default, environment variable);
// - a flag beats its environment variable (if it has one and it is not empty),
//   which beats the default;
// - a flag given twice: each value is checked and the last one wins, so an
//   override can be appended to a manifest's args (as with Kubernetes' own
//   components); a repeated flag (list) collects every value instead, and
//   replaces the default or the variable's list;
// - errors name the flag or variable and the bad value ("--port: '99999' is not a
//   number from 0 to 65535"); unknown flags and stray arguments are refused.
//   Bad input never throws; a usage error is the caller's exit status 2.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/duration.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::flags {

// Reads an environment variable; process_environment() in production, a map in tests.
using Env = std::function<std::optional<std::string>(std::string_view name)>;
Env process_environment();
// An environment of exactly these variables (tests, and programs that start
// others with a chosen environment).
Env environment_of(std::map<std::string, std::string> variables);

// The value of the host:port kind: "10.0.0.1:80", "[::1]:8080".
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

struct HostPortRules {
  bool ip_literal = true;          // the host must be an IPv4 or IPv6 address
  bool empty_host_is_any = false;  // ":8080" means every interface, 0.0.0.0
  std::uint16_t min_port = 1;      // 0: the kernel picks a free port
};

enum class IpFamily { kAny, kIpv4 };

// The value parsers behind the kinds; their errors quote the value.
Result<long long> parse_integer(std::string_view text, long long min, long long max);
Result<double> parse_number(std::string_view text, double min, double max);
Result<bool> parse_bool(std::string_view text);  // "true" or "false"
// A CRD-style duration ("500ms", "1m30s"), or "0"; at least `min`.
Result<std::chrono::milliseconds> parse_duration_value(std::string_view text,
                                                       std::chrono::milliseconds min = {});
Result<std::string> parse_ip_address(std::string_view text, IpFamily family = IpFamily::kAny);
Result<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules = {});
std::string format_host_port(const HostPort& address, const HostPortRules& rules = {});
// "a, b,,c" -> {"a", "b", "c"}: spaces around items and empty items dropped.
std::vector<std::string> split_commas(std::string_view text);

enum class Shape {
  kValue,      // --name VALUE
  kSwitch,     // --name alone, or --name=true|false
  kList,       // --name VALUE, any number of times; its variable is comma-separated
  kArguments,  // the arguments that are not flags (name is empty)
};

// One row of the table. Built by the kinds below, adjusted by the chained
// setters (`.env("X")`), never by hand.
template <typename Options>
struct Flag {
  // Stores a value into the options, or says what is wrong with it ("'x' is not ...").
  using Apply = std::function<std::optional<std::string>(Options&, std::string_view value)>;

  std::string name;  // without "--"
  Shape shape = Shape::kValue;
  std::string metavar;   // "N", "DURATION"; shown after the name
  std::string help;      // one line, or several separated by '\n'
  std::string variable;  // environment variable; empty: none (or the program's prefix)
  std::optional<std::string> default_text;  // set: what --help gives as the default
  bool splits_commas = false;               // lists: a flag's value is comma-separated too
  Apply apply;
  std::function<std::string(const Options&)> show;  // the default, from the initial options
  std::function<void(Options&)> clear;              // lists: emptied before the first value

  Flag env(std::string_view name_of_variable) && {
    variable = name_of_variable;
    return std::move(*this);
  }
  Flag value_name(std::string_view text) && {
    metavar = text;
    return std::move(*this);
  }
  // What --help shows as the default ("" shows none) instead of the initial value.
  Flag shown_default(std::string_view text) && {
    default_text = std::string(text);
    return std::move(*this);
  }
  Flag comma_separated() && {
    splits_commas = true;
    return std::move(*this);
  }
};

template <typename Options>
struct Program {
  std::string usage = {};  // "Usage: weft-operator [flags]" (one or more lines)
  std::string about = {};  // what the program does, before the flags; may be empty
  std::vector<Flag<Options>> flags = {};
  // Set: a flag without .env() reads PREFIX + its name in upper case, '-' as '_'.
  std::string env_prefix = {};
  std::string footer = {};  // after the flags; may be empty
};

template <typename Options>
struct Parsed {
  Options options;
  bool help = false;  // -h or --help: print usage() and exit 0
};

namespace detail {

struct Slot {
  std::string_view name;
  Shape shape;
};
struct Scan {
  bool help = false;
  std::vector<std::vector<std::string>> given;  // per slot, in command-line order
};
// Splits args into the values of each slot: the rules of the file comment.
Result<Scan> scan(const std::vector<Slot>& slots, const std::vector<std::string>& args);

std::string variable_of(std::string_view prefix, std::string_view name, std::string_view variable);

struct Row {
  std::string left;  // "--workers N"
  std::string help;
  std::string default_text;
  std::string variable;
};
std::string render(std::string_view usage, std::string_view about, const std::vector<Row>& rows,
                   std::string_view footer);

std::string quote(std::string_view text);                   // 'text'
std::string show_number(double value);                      // 50, 0.25
std::string one_of(const std::vector<std::string>& names);  // "a, b or c"

template <typename T>
struct Unwrap {
  using type = T;
  static constexpr bool kOptional = false;
};
template <typename T>
struct Unwrap<std::optional<T>> {
  using type = T;
  static constexpr bool kOptional = true;
};

// Shows a field's default with `show_value`, or nothing for an empty optional.
template <typename M, typename ShowValue>
std::string show_field(const M& field, ShowValue show_value) {
  if constexpr (Unwrap<M>::kOptional) {
    return field ? show_value(*field) : std::string();
  } else {
    return show_value(field);
  }
}

template <typename Options>
Flag<Options> make(std::string_view name, Shape shape, std::string_view metavar,
                   std::string_view help, typename Flag<Options>::Apply apply,
                   std::function<std::string(const Options&)> show = {}) {
  Flag<Options> flag;
  flag.name = name;
  flag.shape = shape;
  flag.metavar = metavar;
  flag.help = help;
  flag.apply = std::move(apply);
  flag.show = std::move(show);
  return flag;
}

}  // namespace detail

// ---- The kinds. Each binds a flag to a field `&Options::field`. ----

enum class TextRule { kAny, kNonEmpty };

// Text, stored as given.
template <typename Options>
Flag<Options> text(std::string_view name, std::string Options::*field, std::string_view help,
                   TextRule rule = TextRule::kAny) {
  return detail::make<Options>(
      name, Shape::kValue, "TEXT", help,
      [field, rule](Options& o, std::string_view v) -> std::optional<std::string> {
        if (rule == TextRule::kNonEmpty && v.empty()) return "must not be empty";
        o.*field = std::string(v);
        return std::nullopt;
      },
      [field](const Options& o) { return o.*field; });
}

// A whole number from min to max, into any arithmetic field (or an optional one).
template <typename Options, typename M>
Flag<Options> integer(std::string_view name, M Options::*field, long long min, long long max,
                      std::string_view help) {
  using T = typename detail::Unwrap<M>::type;
  static_assert(std::is_arithmetic_v<T>);
  return detail::make<Options>(
      name, Shape::kValue, "N", help,
      [field, min, max](Options& o, std::string_view v) -> std::optional<std::string> {
        auto n = parse_integer(v, min, max);
        if (!n) return n.error().message;
        o.*field = static_cast<T>(*n);
        return std::nullopt;
      },
      [field](const Options& o) {
        return detail::show_field(o.*field, [](T value) {
          if constexpr (std::is_integral_v<T>) {
            return std::to_string(value);
          } else {
            return detail::show_number(static_cast<double>(value));
          }
        });
      });
}

// A decimal number from min to max ("0.25", "50.5").
template <typename Options>
Flag<Options> number(std::string_view name, double Options::*field, double min, double max,
                     std::string_view help) {
  return detail::make<Options>(
      name, Shape::kValue, "N", help,
      [field, min, max](Options& o, std::string_view v) -> std::optional<std::string> {
        auto n = parse_number(v, min, max);
        if (!n) return n.error().message;
        o.*field = *n;
        return std::nullopt;
      },
      [field](const Options& o) { return detail::show_number(o.*field); });
}

// A CRD-style duration ("500ms", "1m30s", or "0"), at least `min`, into any
// std::chrono::duration field (or an optional one).
template <typename Options, typename M>
Flag<Options> duration(std::string_view name, M Options::*field, std::string_view help,
                       std::chrono::milliseconds min = {}) {
  using T = typename detail::Unwrap<M>::type;
  return detail::make<Options>(
      name, Shape::kValue, "DURATION", help,
      [field, min](Options& o, std::string_view v) -> std::optional<std::string> {
        auto d = parse_duration_value(v, min);
        if (!d) return d.error().message;
        o.*field = std::chrono::duration_cast<T>(*d);
        return std::nullopt;
      },
      [field](const Options& o) {
        return detail::show_field(o.*field, [](T value) {
          auto text = format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(value));
          return text ? *text : std::string();
        });
      });
}

// On or off: `--name`, `--name=false`. The default is shown only when it is true.
template <typename Options>
Flag<Options> boolean(std::string_view name, bool Options::*field, std::string_view help) {
  return detail::make<Options>(
      name, Shape::kSwitch, "", help,
      [field](Options& o, std::string_view v) -> std::optional<std::string> {
        auto b = parse_bool(v);
        if (!b) return b.error().message;
        o.*field = *b;
        return std::nullopt;
      },
      [field](const Options& o) { return o.*field ? std::string("true") : std::string(); });
}

// One of a few words, each standing for a value of the field.
template <typename Options, typename M>
Flag<Options> choice(std::string_view name, M Options::*field,
                     std::vector<std::pair<std::string, M>> choices, std::string_view help) {
  std::vector<std::string> names;
  for (const auto& entry : choices) names.push_back(entry.first);
  std::string metavar;
  for (const auto& word : names) metavar += (metavar.empty() ? "" : "|") + word;
  return detail::make<Options>(
      name, Shape::kValue, metavar, help,
      [field, choices, names](Options& o, std::string_view v) -> std::optional<std::string> {
        for (const auto& [word, value] : choices) {
          if (word == v) {
            o.*field = value;
            return std::nullopt;
          }
        }
        return detail::quote(v) + " must be " + detail::one_of(names);
      },
      [field, choices](const Options& o) {
        for (const auto& [word, value] : choices) {
          if (value == o.*field) return word;
        }
        return std::string();
      });
}

// debug, info, warn or error.
template <typename Options>
Flag<Options> log_level(std::string_view name, LogLevel Options::*field, std::string_view help) {
  return choice<Options, LogLevel>(name, field,
                                   {{"debug", LogLevel::kDebug},
                                    {"info", LogLevel::kInfo},
                                    {"warn", LogLevel::kWarn},
                                    {"error", LogLevel::kError}},
                                   help)
      .value_name("LEVEL");
}

// An IP address literal, stored as text.
template <typename Options>
Flag<Options> ip_address(std::string_view name, std::string Options::*field, std::string_view help,
                         IpFamily family = IpFamily::kAny) {
  return detail::make<Options>(
      name, Shape::kValue, "IP", help,
      [field, family](Options& o, std::string_view v) -> std::optional<std::string> {
        auto address = parse_ip_address(v, family);
        if (!address) return address.error().message;
        o.*field = std::move(*address);
        return std::nullopt;
      },
      [field](const Options& o) { return o.*field; });
}

// HOST:PORT or [IPv6]:PORT. Into an optional field, the text `none` (e.g. "0",
// or "" for `--name=`) empties it.
template <typename Options, typename M>
Flag<Options> host_port(std::string_view name, M Options::*field, std::string_view help,
                        HostPortRules rules = {}, std::string_view none = {}) {
  constexpr bool kOptional = detail::Unwrap<M>::kOptional;
  return detail::make<Options>(
      name, Shape::kValue, "HOST:PORT", help,
      [field, rules, none = std::string(none)](Options& o,
                                               std::string_view v) -> std::optional<std::string> {
        if constexpr (kOptional) {
          if (v == none) {
            o.*field = std::nullopt;
            return std::nullopt;
          }
        }
        auto address = parse_host_port(v, rules);
        if (!address) return address.error().message;
        o.*field = std::move(*address);
        return std::nullopt;
      },
      [field, rules, none = std::string(none)](const Options& o) {
        if constexpr (kOptional) {
          if (!(o.*field)) return none;
        }
        return detail::show_field(o.*field,
                                  [&](const HostPort& a) { return format_host_port(a, rules); });
      });
}

// Any other value: `parse(text)` returns a Result of something the field takes.
// Its error should quote the value. Set .shown_default() to show a default.
template <typename Options, typename M, typename Parse>
Flag<Options> custom(std::string_view name, M Options::*field, Parse parse, std::string_view help) {
  return detail::make<Options>(
      name, Shape::kValue, "VALUE", help,
      [field, parse](Options& o, std::string_view v) -> std::optional<std::string> {
        auto value = parse(v);
        if (!value) return value.error().message;
        o.*field = std::move(*value);
        return std::nullopt;
      });
}

// A repeated flag: each value parsed by `parse` (text -> Result<T>) and appended.
template <typename Options, typename T, typename Parse>
Flag<Options> list(std::string_view name, std::vector<T> Options::*field, Parse parse,
                   std::string_view help) {
  Flag<Options> flag = detail::make<Options>(
      name, Shape::kList, "VALUE", help,
      [field, parse](Options& o, std::string_view v) -> std::optional<std::string> {
        auto value = parse(v);
        if (!value) return value.error().message;
        (o.*field).push_back(std::move(*value));
        return std::nullopt;
      });
  flag.clear = [field](Options& o) { (o.*field).clear(); };
  if constexpr (std::is_same_v<T, std::string>) {
    flag.show = [field](const Options& o) {
      std::string text;
      for (const auto& item : o.*field) text += (text.empty() ? "" : ",") + item;
      return text;
    };
  }
  return flag;
}

// Text items, as given.
template <typename Options>
Flag<Options> list(std::string_view name, std::vector<std::string> Options::*field,
                   std::string_view help) {
  return list(
      name, field, [](std::string_view v) -> Result<std::string> { return std::string(v); }, help);
}

// The arguments that are not flags, each parsed by `parse` and appended.
template <typename Options, typename T, typename Parse>
Flag<Options> arguments(std::vector<T> Options::*field, Parse parse, std::string_view metavar,
                        std::string_view help) {
  Flag<Options> flag = list("", field, parse, help);
  flag.shape = Shape::kArguments;
  flag.metavar = metavar;
  return flag;
}

// The arguments that are not flags, as given (a command's NAME, FILE...).
template <typename Options>
Flag<Options> arguments(std::vector<std::string> Options::*field, std::string_view metavar,
                        std::string_view help) {
  return arguments(
      field, [](std::string_view v) -> Result<std::string> { return std::string(v); }, metavar,
      help);
}

// A flag of a nested struct (`&Options::part`), declared on that struct's type.
template <typename Options, typename Part>
Flag<Options> within(Part Options::*part, Flag<Part> inner) {
  Flag<Options> flag;
  flag.name = std::move(inner.name);
  flag.shape = inner.shape;
  flag.metavar = std::move(inner.metavar);
  flag.help = std::move(inner.help);
  flag.variable = std::move(inner.variable);
  flag.default_text = std::move(inner.default_text);
  flag.splits_commas = inner.splits_commas;
  flag.apply = [part, apply = std::move(inner.apply)](Options& o, std::string_view v) {
    return apply(o.*part, v);
  };
  if (inner.show) {
    flag.show = [part, show = std::move(inner.show)](const Options& o) { return show(o.*part); };
  }
  if (inner.clear) {
    flag.clear = [part, clear = std::move(inner.clear)](Options& o) { clear(o.*part); };
  }
  return flag;
}

// ---- Parsing and help ----

// `args` without the program name; `options` holds the defaults.
template <typename Options>
Result<Parsed<Options>> parse(const Program<Options>& program, const std::vector<std::string>& args,
                              const Env& env = {}, Options options = {}) {
  std::vector<detail::Slot> slots;
  for (const auto& flag : program.flags) slots.push_back({flag.name, flag.shape});
  auto scan = detail::scan(slots, args);
  if (!scan) return scan.error();
  if (scan->help) return Parsed<Options>{std::move(options), true};
  for (std::size_t i = 0; i < program.flags.size(); ++i) {
    const Flag<Options>& flag = program.flags[i];
    const bool many = flag.shape == Shape::kList || flag.shape == Shape::kArguments;
    std::vector<std::string> values;
    std::string source = flag.shape == Shape::kArguments ? "argument" : "--" + flag.name;
    if (!scan->given[i].empty()) {
      for (auto& value : scan->given[i]) {
        if (!flag.splits_commas) {
          values.push_back(std::move(value));
        } else {
          for (auto& item : split_commas(value)) values.push_back(std::move(item));
        }
      }
    } else if (const auto variable =
                   detail::variable_of(program.env_prefix, flag.name, flag.variable);
               !variable.empty() && env) {
      if (auto text = env(variable); text && !text->empty()) {
        values = many ? split_commas(*text) : std::vector<std::string>{*text};
        source = variable;
      }
    }
    if (values.empty()) continue;
    if (flag.clear) flag.clear(options);
    for (const auto& value : values) {
      if (auto problem = flag.apply(options, value)) return Error{source + ": " + *problem};
    }
  }
  return Parsed<Options>{std::move(options), false};
}

// The --help text: usage, about, one row per flag, -h/--help, footer.
template <typename Options>
std::string usage(const Program<Options>& program, const Options& defaults = {}) {
  std::vector<detail::Row> rows;
  for (const auto& flag : program.flags) {
    detail::Row row;
    row.left = flag.shape == Shape::kArguments ? flag.metavar : "--" + flag.name;
    if (flag.shape != Shape::kArguments && !flag.metavar.empty()) row.left += " " + flag.metavar;
    row.help = flag.help;
    row.default_text = flag.default_text ? *flag.default_text
                       : flag.show       ? flag.show(defaults)
                                         : std::string();
    row.variable = detail::variable_of(program.env_prefix, flag.name, flag.variable);
    rows.push_back(std::move(row));
  }
  return detail::render(program.usage, program.about, rows, program.footer);
}

}  // namespace weft::flags
