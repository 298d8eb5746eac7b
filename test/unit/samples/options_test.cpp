#include "samples/app/options.h"

#include <catch2/catch.hpp>
#include <map>

#include "samples/load/options.h"

using namespace weft::samples;
using std::chrono::milliseconds;

namespace {

const EnvLookup kNoEnv = weft::flags::environment_of({});

}  // namespace

TEST_CASE("app options: defaults", "[options]") {
  auto options = parse_app_options({}, kNoEnv);
  REQUIRE(options);
  CHECK(options->name == "sample-app");
  CHECK(options->version == "v1");
  CHECK(options->port == 8080);
  CHECK(options->threads == 2);
  CHECK(options->failure_rate == 0);
  CHECK(options->downstreams.empty());
  CHECK(options->downstream_timeout == milliseconds(1000));
  CHECK(options->shutdown_grace == milliseconds(10000));
}

TEST_CASE("app options: flags, both spellings, repeatable downstreams", "[options]") {
  auto options = parse_app_options({"--name",
                                    "api",
                                    "--version=v2",
                                    "--port",
                                    "9000",
                                    "--latency",
                                    "5ms±2ms",
                                    "--failure-rate",
                                    "0.2",
                                    "--downstream",
                                    "http://backend:8080/",
                                    "--downstream",
                                    "http://cache:6379/get",
                                    "--downstream-timeout",
                                    "250ms",
                                    "--shutdown-grace",
                                    "0",
                                    "--log-level",
                                    "debug",
                                    "--threads",
                                    "3"},
                                   kNoEnv);
  REQUIRE(options);
  CHECK(options->name == "api");
  CHECK(options->version == "v2");
  CHECK(options->port == 9000);
  CHECK(options->threads == 3);
  CHECK(options->latency.base == milliseconds(5));
  CHECK(options->latency.jitter == milliseconds(2));
  CHECK(options->failure_rate == Approx(0.2));
  REQUIRE(options->downstreams.size() == 2);
  CHECK(options->downstreams[0].host == "backend");
  CHECK(options->downstreams[1].target == "/get");
  CHECK(options->downstream_timeout == milliseconds(250));
  CHECK(options->shutdown_grace == milliseconds(0));
  CHECK(options->log_level == weft::LogLevel::kDebug);
}

TEST_CASE("app options: environment, overridden by flags", "[options]") {
  auto env = weft::flags::environment_of({{"WEFT_SAMPLE_NAME", "backend"},
                                          {"WEFT_SAMPLE_VERSION", "v1"},
                                          {"POD_NAME", "backend-v1-abc"},
                                          {"WEFT_SAMPLE_FAILURE_RATE", "0.5"},
                                          {"WEFT_SAMPLE_DOWNSTREAMS", "http://a:1/, http://b:2/"}});
  auto from_env = parse_app_options({}, env);
  REQUIRE(from_env);
  CHECK(from_env->name == "backend");
  CHECK(from_env->pod_name == "backend-v1-abc");
  CHECK(from_env->failure_rate == Approx(0.5));
  REQUIRE(from_env->downstreams.size() == 2);
  CHECK(from_env->downstreams[1].host == "b");

  auto overridden = parse_app_options({"--version", "v9", "--downstream", "http://c:3/"}, env);
  REQUIRE(overridden);
  CHECK(overridden->version == "v9");
  CHECK(overridden->name == "backend");
  REQUIRE(overridden->downstreams.size() == 1);  // flags replace the env list
  CHECK(overridden->downstreams[0].host == "c");
}

TEST_CASE("app options: bad input names the flag or variable", "[options]") {
  auto message = [](std::vector<std::string> args, EnvLookup env = kNoEnv) {
    auto options = parse_app_options(args, env);
    REQUIRE(!options);
    return options.error().message;
  };
  CHECK(message({"--port", "http"}).starts_with("--port: "));
  CHECK(message({"--port", "70000"}).starts_with("--port: "));
  CHECK(message({"--failure-rate", "2"}).starts_with("--failure-rate: "));
  CHECK(message({"--latency", "fast"}).starts_with("--latency: "));
  CHECK(message({"--downstream", "https://x/"}).starts_with("--downstream: "));
  CHECK(message({"--downstream-timeout", "0s"}).find("more than 0") != std::string::npos);
  CHECK(message({"--threads", "0"}).starts_with("--threads: "));
  CHECK(message({"--colour", "red"}).find("unknown flag --colour") != std::string::npos);
  CHECK(message({"--port"}).find("needs a value") != std::string::npos);
  CHECK(message({"extra"}).find("unexpected argument") != std::string::npos);
  CHECK(message({"--help=yes"}).find("takes no value") != std::string::npos);
  CHECK(message({}, weft::flags::environment_of({{"WEFT_SAMPLE_PORT", "x"}}))
            .starts_with("WEFT_SAMPLE_PORT: "));
}

TEST_CASE("app options: a flag given twice, the last wins", "[options]") {
  // As for every Weft program (lib/weft/flags.h), so an override can be appended.
  auto twice = parse_app_options({"--port", "1", "--port=2"}, kNoEnv);
  REQUIRE(twice);
  CHECK(twice->port == 2);
}

TEST_CASE("app options: usage lists every flag with its variable", "[options]") {
  const std::string usage = app_usage();
  for (const char* flag : {"--name", "--version", "--port", "--latency", "--failure-rate",
                           "--downstream", "--shutdown-grace", "$POD_NAME"}) {
    CHECK(usage.find(flag) != std::string::npos);
  }
}

TEST_CASE("load options: targets, rate, duration, requests", "[options]") {
  auto options =
      parse_load_options({"--rate", "50.5", "--requests", "2000", "--concurrency", "4",
                          "http://web:8080/", "http://web:8080/other", "--header", "x-canary: true",
                          "--json", "--version-of", "backend", "--metrics-port", "9090"},
                         kNoEnv);
  REQUIRE(options);
  CHECK(options->targets.size() == 2);
  CHECK(options->rate == Approx(50.5));
  CHECK(options->requests == 2000u);
  CHECK(!options->duration);  // --requests alone bounds the run
  CHECK(options->concurrency == 4);
  REQUIRE(options->headers.size() == 1);
  CHECK(options->headers[0] == std::pair<std::string, std::string>{"x-canary", "true"});
  CHECK(options->json);
  CHECK(options->version_of == "backend");
  CHECK(options->metrics_port == 9090);
}

TEST_CASE("load options: default duration, 0 means until stopped", "[options]") {
  auto defaulted = parse_load_options({"http://web/"}, kNoEnv);
  REQUIRE(defaulted);
  CHECK(defaulted->duration == milliseconds(10000));
  auto forever = parse_load_options({"--duration", "0", "http://web/"}, kNoEnv);
  REQUIRE(forever);
  CHECK(forever->duration == milliseconds(0));
  auto from_env = parse_load_options(
      {}, weft::flags::environment_of(
              {{"WEFT_LOAD_TARGETS", "http://a/,http://b/"}, {"WEFT_LOAD_DURATION", "1m"}}));
  REQUIRE(from_env);
  CHECK(from_env->targets.size() == 2);
  CHECK(from_env->duration == milliseconds(60000));
}

TEST_CASE("load options: bad input", "[options]") {
  auto message = [](std::vector<std::string> args) {
    auto options = parse_load_options(args, kNoEnv);
    REQUIRE(!options);
    return options.error().message;
  };
  CHECK(message({}).find("at least one target") != std::string::npos);
  CHECK(message({"--rate", "-1", "http://a/"}).starts_with("--rate: "));
  CHECK(message({"--rate", "fast", "http://a/"}).starts_with("--rate: "));
  CHECK(message({"--requests", "0", "http://a/"}).starts_with("--requests: "));
  CHECK(message({"--concurrency", "0", "http://a/"}).starts_with("--concurrency: "));
  CHECK(message({"--duration", "10", "http://a/"}).starts_with("--duration: "));
  CHECK(message({"--header", "novalue", "http://a/"}).find("Name: value") != std::string::npos);
  CHECK(message({"--header", "bad name: x", "http://a/"}).find("token") != std::string::npos);
  CHECK(message({"ftp://a/"}).starts_with("argument: "));
}
