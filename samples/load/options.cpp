#include "samples/load/options.h"

#include <cmath>
#include <cstdlib>

namespace weft::samples {

namespace {

using Problem = std::optional<std::string>;

template <typename T, typename Store>
Problem store(Result<T> result, Store&& set) {
  if (!result) return result.error().message;
  set(std::move(*result));
  return std::nullopt;
}

// RFC 9110 token characters.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Result<double> parse_rate(std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double rate = copy.empty() ? NAN : std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(rate) || rate < 0 ||
      rate > 1e6) {
    return Error{"\"" + copy + "\" must be requests per second from 0 (no limit) to 1000000"};
  }
  return rate;
}

const std::vector<Setting<LoadOptions>>& load_settings() {
  static const std::vector<Setting<LoadOptions>> table = {
      {"", "WEFT_LOAD_TARGETS", "URL...", "http:// URLs to send GET requests to, in turn",
       Arity::kPositional,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_http_url(v), [&](HttpUrl u) { o.targets.push_back(u); });
       }},
      {"--rate", "WEFT_LOAD_RATE", "N", "requests per second in all (default 100; 0: no limit)",
       Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_rate(v), [&](double r) { o.rate = r; });
       }},
      {"--duration", "WEFT_LOAD_DURATION", "DURATION",
       "how long to send, e.g. 30s (default 10s; 0: until SIGTERM)", Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_duration_value(v),
                      [&](std::chrono::milliseconds d) { o.duration = d; });
       }},
      {"--requests", "WEFT_LOAD_REQUESTS", "N", "stop after N requests", Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_integer_value(v, 1, 1'000'000'000),
                      [&](long long n) { o.requests = static_cast<std::uint64_t>(n); });
       }},
      {"--concurrency", "WEFT_LOAD_CONCURRENCY", "N", "requests in flight at most (default 10)",
       Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_integer_value(v, 1, 10'000),
                      [&](long long n) { o.concurrency = static_cast<int>(n); });
       }},
      {"--header", "", "'NAME: VALUE'", "add a request header (repeatable)", Arity::kRepeatable,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_header(v), [&](auto h) { o.headers.push_back(h); });
       }},
      {"--timeout", "WEFT_LOAD_TIMEOUT", "DURATION", "time limit per request (default 5s)",
       Arity::kOne,
       [](LoadOptions& o, std::string_view v) -> Problem {
         auto d = parse_duration_value(v);
         if (d && d->count() == 0) return "must be more than 0";
         return store(std::move(d), [&](std::chrono::milliseconds t) { o.timeout = t; });
       }},
      {"--version-of", "WEFT_LOAD_VERSION_OF", "SERVICE",
       "count versions and pods of this service in a chain's answer (default: the responder)",
       Arity::kOne,
       [](LoadOptions& o, std::string_view v) -> Problem {
         o.version_of = std::string(v);
         return std::nullopt;
       }},
      {"--json", "", "", "print the summary as JSON", Arity::kSwitch,
       [](LoadOptions& o, std::string_view) -> Problem {
         o.json = true;
         return std::nullopt;
       }},
      {"--metrics-port", "WEFT_LOAD_METRICS_PORT", "PORT",
       "serve Prometheus /metrics on this port (0: any free port)", Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_port_value(v), [&](std::uint16_t p) { o.metrics_port = p; });
       }},
      {"--metrics-address", "WEFT_LOAD_METRICS_ADDRESS", "ADDRESS",
       "address of /metrics (default 0.0.0.0)", Arity::kOne,
       [](LoadOptions& o, std::string_view v) -> Problem {
         if (v.empty()) return "must not be empty";
         o.metrics_address = std::string(v);
         return std::nullopt;
       }},
      {"--log-level", "WEFT_LOAD_LOG_LEVEL", "LEVEL", "debug, info, warn, error", Arity::kOne,
       [](LoadOptions& o, std::string_view v) {
         return store(parse_log_level(v), [&](LogLevel l) { o.log_level = l; });
       }},
      {"--help", "", "", "print this help", Arity::kSwitch,
       [](LoadOptions& o, std::string_view) -> Problem {
         o.help = true;
         return std::nullopt;
       }},
  };
  return table;
}

}  // namespace

Result<std::pair<std::string, std::string>> parse_header(std::string_view text) {
  const std::size_t colon = text.find(':');
  const std::string quoted = "header \"" + std::string(text) + "\"";
  if (colon == std::string_view::npos) return Error{quoted + ": expected 'Name: value'"};
  std::string_view name = text.substr(0, colon);
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!is_token(name)) return Error{quoted + ": the name must be a token such as x-canary"};
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return Error{quoted + ": control character in value"};
  }
  return std::pair{std::string(name), std::string(value)};
}

Result<LoadOptions> parse_load_options(const std::vector<std::string>& args, const EnvLookup& env) {
  auto options = apply_settings(load_settings(), args, env);
  if (!options || options->help) return options;
  if (options->targets.empty()) return Error{"give at least one target URL"};
  if (!options->duration && !options->requests) options->duration = std::chrono::seconds(10);
  return options;
}

std::string load_usage() {
  return "Usage: weft-load [flags] URL...\n"
         "Sends GET requests at a constant rate and prints requests, success rate, status\n"
         "counts, p50/p95/p99 latency and the count per responding version.\n\n" +
         settings_usage(load_settings());
}

}  // namespace weft::samples
