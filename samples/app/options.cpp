#include "samples/app/options.h"

#include "samples/app/failure_rate.h"
#include "weft/flags.h"

namespace weft::samples {

namespace {

const flags::Program<AppOptions>& program() {
  using O = AppOptions;
  constexpr auto kMoreThanZero = std::chrono::milliseconds(1);
  static const flags::Program<O> table{
      .usage = "Usage: weft-sample-app [flags]",
      .about =
          "A small HTTP service for trying Weft: answers every path except /healthz and\n"
          "/readyz with JSON naming itself and the results of its downstream calls.",
      .flags =
          {
              flags::text("name", &O::name, "service name shown in responses",
                          flags::TextRule::kNonEmpty)
                  .value_name("NAME")
                  .env("WEFT_SAMPLE_NAME"),
              flags::text("version", &O::version, "version shown in responses (e.g. v2)",
                          flags::TextRule::kNonEmpty)
                  .value_name("VERSION")
                  .env("WEFT_SAMPLE_VERSION"),
              flags::text("pod-name", &O::pod_name, "pod name shown in responses")
                  .value_name("NAME")
                  .env("POD_NAME"),
              flags::text("address", &O::address, "listening address", flags::TextRule::kNonEmpty)
                  .value_name("ADDRESS")
                  .env("WEFT_SAMPLE_ADDRESS"),
              flags::integer("port", &O::port, 0, 65535, "listening port (0: any free port)")
                  .value_name("PORT")
                  .env("WEFT_SAMPLE_PORT"),
              flags::integer("threads", &O::threads, 1, 64, "worker threads")
                  .env("WEFT_SAMPLE_THREADS"),
              flags::custom("latency", &O::latency, parse_latency,
                            "added latency per request: 5ms, or uniform 5ms±2ms (also 5ms+-2ms)")
                  .value_name("DURATION")
                  .env("WEFT_SAMPLE_LATENCY"),
              flags::custom("failure-rate", &O::failure_rate, parse_failure_rate,
                            "fraction of requests answered 500, 0 to 1")
                  .value_name("RATE")
                  .env("WEFT_SAMPLE_FAILURE_RATE"),
              flags::list("downstream", &O::downstreams, parse_http_url,
                          "http:// URL called on each request (repeatable; env: comma-separated)")
                  .value_name("URL")
                  .env("WEFT_SAMPLE_DOWNSTREAMS"),
              flags::duration("downstream-timeout", &O::downstream_timeout,
                              "time limit of each downstream call", kMoreThanZero)
                  .env("WEFT_SAMPLE_DOWNSTREAM_TIMEOUT"),
              flags::duration("shutdown-grace", &O::shutdown_grace,
                              "on SIGTERM, time left to requests in flight")
                  .env("WEFT_SAMPLE_SHUTDOWN_GRACE"),
              flags::log_level("log-level", &O::log_level,
                               "debug (one line per request), info, warn, error")
                  .env("WEFT_SAMPLE_LOG_LEVEL"),
          },
  };
  return table;
}

}  // namespace

Result<AppOptions> parse_app_options(const std::vector<std::string>& args, const EnvLookup& env) {
  auto parsed = flags::parse(program(), args, env);
  if (!parsed) return parsed.error();
  parsed->options.help = parsed->help;
  return std::move(parsed->options);
}

std::string app_usage() {
  return flags::usage(program());
}

}  // namespace weft::samples
