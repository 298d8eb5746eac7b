#include "samples/app/options.h"

#include "samples/app/failure_rate.h"

namespace weft::samples {

namespace {

using Problem = std::optional<std::string>;

// Turns a Result into the apply() convention: store the value or return the message.
template <typename T, typename Store>
Problem store(Result<T> result, Store&& set) {
  if (!result) return result.error().message;
  set(std::move(*result));
  return std::nullopt;
}

const std::vector<Setting<AppOptions>>& app_settings() {
  static const std::vector<Setting<AppOptions>> table = {
      {"--name", "WEFT_SAMPLE_NAME", "NAME", "service name shown in responses", Arity::kOne,
       [](AppOptions& o, std::string_view v) -> Problem {
         if (v.empty()) return "must not be empty";
         o.name = std::string(v);
         return std::nullopt;
       }},
      {"--version", "WEFT_SAMPLE_VERSION", "VERSION", "version shown in responses (e.g. v2)",
       Arity::kOne,
       [](AppOptions& o, std::string_view v) -> Problem {
         if (v.empty()) return "must not be empty";
         o.version = std::string(v);
         return std::nullopt;
       }},
      {"--pod-name", "POD_NAME", "NAME", "pod name shown in responses", Arity::kOne,
       [](AppOptions& o, std::string_view v) -> Problem {
         o.pod_name = std::string(v);
         return std::nullopt;
       }},
      {"--address", "WEFT_SAMPLE_ADDRESS", "ADDRESS", "listening address (default 0.0.0.0)",
       Arity::kOne,
       [](AppOptions& o, std::string_view v) -> Problem {
         if (v.empty()) return "must not be empty";
         o.address = std::string(v);
         return std::nullopt;
       }},
      {"--port", "WEFT_SAMPLE_PORT", "PORT", "listening port (default 8080; 0: any free port)",
       Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_port_value(v), [&](std::uint16_t p) { o.port = p; });
       }},
      {"--threads", "WEFT_SAMPLE_THREADS", "N", "worker threads (default 2)", Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_integer_value(v, 1, 64),
                      [&](long long n) { o.threads = static_cast<int>(n); });
       }},
      {"--latency", "WEFT_SAMPLE_LATENCY", "DURATION",
       "added latency per request: 5ms, or uniform 5ms±2ms (also 5ms+-2ms)", Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_latency(v), [&](LatencySpec l) { o.latency = l; });
       }},
      {"--failure-rate", "WEFT_SAMPLE_FAILURE_RATE", "RATE",
       "fraction of requests answered 500, 0 to 1", Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_failure_rate(v), [&](double r) { o.failure_rate = r; });
       }},
      {"--downstream", "WEFT_SAMPLE_DOWNSTREAMS", "URL",
       "http:// URL called on each request (repeatable; env: comma-separated)", Arity::kRepeatable,
       [](AppOptions& o, std::string_view v) {
         return store(parse_http_url(v), [&](HttpUrl u) { o.downstreams.push_back(u); });
       }},
      {"--downstream-timeout", "WEFT_SAMPLE_DOWNSTREAM_TIMEOUT", "DURATION",
       "time limit of each downstream call (default 1s)", Arity::kOne,
       [](AppOptions& o, std::string_view v) -> Problem {
         auto d = parse_duration_value(v);
         if (d && d->count() == 0) return "must be more than 0";
         return store(std::move(d), [&](std::chrono::milliseconds t) { o.downstream_timeout = t; });
       }},
      {"--shutdown-grace", "WEFT_SAMPLE_SHUTDOWN_GRACE", "DURATION",
       "on SIGTERM, time left to requests in flight (default 10s)", Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_duration_value(v),
                      [&](std::chrono::milliseconds t) { o.shutdown_grace = t; });
       }},
      {"--log-level", "WEFT_SAMPLE_LOG_LEVEL", "LEVEL",
       "debug (one line per request), info, warn, error", Arity::kOne,
       [](AppOptions& o, std::string_view v) {
         return store(parse_log_level(v), [&](LogLevel l) { o.log_level = l; });
       }},
      {"--help", "", "", "print this help", Arity::kSwitch,
       [](AppOptions& o, std::string_view) -> Problem {
         o.help = true;
         return std::nullopt;
       }},
  };
  return table;
}

}  // namespace

Result<AppOptions> parse_app_options(const std::vector<std::string>& args, const EnvLookup& env) {
  return apply_settings(app_settings(), args, env);
}

std::string app_usage() {
  return "Usage: weft-sample-app [flags]\n"
         "A small HTTP service for trying Weft: answers every path except /healthz and\n"
         "/readyz with JSON naming itself and the results of its downstream calls.\n\n" +
         settings_usage(app_settings());
}

}  // namespace weft::samples
