#include "samples/load/options.h"

#include <cctype>

#include "weft/flags.h"

namespace weft::samples {

namespace {

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

const flags::Program<LoadOptions>& program() {
  using O = LoadOptions;
  constexpr auto kMoreThanZero = std::chrono::milliseconds(1);
  static const flags::Program<O> table{
      .usage = "Usage: weft-load [flags] URL...",
      .about =
          "Sends GET requests at a constant rate and prints requests, success rate, status\n"
          "counts, p50/p95/p99 latency and the count per responding version.",
      .flags =
          {
              flags::arguments(&O::targets, parse_http_url, "URL...",
                               "http:// URLs to send GET requests to, in turn")
                  .env("WEFT_LOAD_TARGETS"),
              flags::number("rate", &O::rate, 0, 1e6, "requests per second in all (0: no limit)")
                  .env("WEFT_LOAD_RATE"),
              flags::duration("duration", &O::duration, "how long to send (0: until SIGTERM)")
                  .shown_default("10s, unless --requests is given")
                  .env("WEFT_LOAD_DURATION"),
              flags::integer("requests", &O::requests, 1, 1'000'000'000, "stop after N requests")
                  .env("WEFT_LOAD_REQUESTS"),
              flags::integer("concurrency", &O::concurrency, 1, 10'000,
                             "requests in flight at most")
                  .env("WEFT_LOAD_CONCURRENCY"),
              flags::list("header", &O::headers, parse_header, "add a request header (repeatable)")
                  .value_name("'NAME: VALUE'"),
              flags::duration("timeout", &O::timeout, "time limit per request", kMoreThanZero)
                  .env("WEFT_LOAD_TIMEOUT"),
              flags::text("version-of", &O::version_of,
                          "count versions and pods of this service in a chain's answer")
                  .value_name("SERVICE")
                  .shown_default("the responder")
                  .env("WEFT_LOAD_VERSION_OF"),
              flags::boolean("json", &O::json, "print the summary as JSON"),
              flags::integer("metrics-port", &O::metrics_port, 0, 65535,
                             "serve Prometheus /metrics on this port (0: any free port)")
                  .value_name("PORT")
                  .env("WEFT_LOAD_METRICS_PORT"),
              flags::text("metrics-address", &O::metrics_address, "address of /metrics",
                          flags::TextRule::kNonEmpty)
                  .value_name("ADDRESS")
                  .env("WEFT_LOAD_METRICS_ADDRESS"),
              flags::log_level("log-level", &O::log_level, "debug, info, warn, error")
                  .env("WEFT_LOAD_LOG_LEVEL"),
          },
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
  auto parsed = flags::parse(program(), args, env);
  if (!parsed) return parsed.error();
  LoadOptions options = std::move(parsed->options);
  options.help = parsed->help;
  if (options.help) return options;
  if (options.targets.empty()) return Error{"give at least one target URL"};
  if (!options.duration && !options.requests) options.duration = std::chrono::seconds(10);
  return options;
}

std::string load_usage() {
  return flags::usage(program());
}

}  // namespace weft::samples
