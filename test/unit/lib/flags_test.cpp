// The table-driven flag parser every program uses (lib/weft/flags.h).

#include "weft/flags.h"

#include <catch2/catch.hpp>
#include <map>

namespace flags = weft::flags;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

enum class Mode { kAuto, kOn, kOff };

struct Nested {
  int depth = 3;
};

struct Options {
  std::string name = "sample";
  std::string label;
  int workers = 2;
  std::optional<std::uint64_t> limit;
  double qps = 50;
  double ratio = 0.5;
  milliseconds timeout{1000};
  seconds watch{290};
  std::optional<milliseconds> run_for;
  bool verbose = false;
  bool elect = true;
  Mode mode = Mode::kAuto;
  weft::LogLevel level = weft::LogLevel::kInfo;
  std::string address = "0.0.0.0";
  std::optional<flags::HostPort> fallback;
  std::optional<flags::HostPort> metrics = flags::HostPort{"0.0.0.0", 8080};
  std::vector<std::string> names = {"a.example"};
  std::vector<std::uint16_t> ports;
  std::vector<std::string> targets;
  Nested nested;
};

weft::Result<std::uint16_t> port_item(std::string_view text) {
  auto port = flags::parse_integer(text, 1, 65535);
  if (!port) return port.error();
  return static_cast<std::uint16_t>(*port);
}

const flags::Program<Options>& program() {
  static const flags::Program<Options> table{
      .usage = "Usage: sample [flags] URL...",
      .about = "A program to test the parser.",
      .flags =
          {
              flags::text("name", &Options::name, "service name", flags::TextRule::kNonEmpty)
                  .env("SAMPLE_NAME"),
              flags::text("label", &Options::label, "a label"),
              flags::integer("workers", &Options::workers, 1, 64, "worker threads")
                  .env("SAMPLE_WORKERS"),
              flags::integer("limit", &Options::limit, 1, 1000, "stop after N"),
              flags::integer("qps", &Options::qps, 1, 10000, "rate limit"),
              flags::number("ratio", &Options::ratio, 0, 1, "a fraction"),
              flags::duration("timeout", &Options::timeout, "time limit", milliseconds(1)),
              flags::duration("watch", &Options::watch, "one watch", seconds(1)),
              flags::duration("run-for", &Options::run_for, "how long"),
              flags::boolean("verbose", &Options::verbose, "say more"),
              flags::boolean("elect", &Options::elect, "run an election").value_name("BOOL"),
              flags::choice("mode", &Options::mode,
                            {{"auto", Mode::kAuto}, {"on", Mode::kOn}, {"off", Mode::kOff}},
                            "watch mode"),
              flags::log_level("log-level", &Options::level, "how much to log"),
              flags::ip_address("address", &Options::address, "listen address"),
              flags::host_port("fallback", &Options::fallback, "where else\n(none: closed)"),
              flags::host_port("metrics", &Options::metrics, "metrics address",
                               {.ip_literal = false, .empty_host_is_any = true, .min_port = 0},
                               "0"),
              flags::list("names", &Options::names, "DNS names").comma_separated(),
              flags::list("port", &Options::ports, port_item, "a port (repeatable)")
                  .value_name("PORT"),
              flags::within(&Options::nested,
                            flags::integer("depth", &Nested::depth, 0, 9, "nesting depth")),
              flags::arguments(
                  &Options::targets,
                  [](std::string_view v) -> weft::Result<std::string> {
                    if (!v.starts_with("http://")) return weft::Error{"not http://"};
                    return std::string(v);
                  },
                  "URL...", "targets")
                  .env("SAMPLE_TARGETS"),
          },
      .env_prefix = "SAMPLE_",
      .footer = "Durations look like 1m30s.",
  };
  return table;
}

Options parsed(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto result = flags::parse(program(), args, weft::flags::environment_of(std::move(env)));
  INFO((result ? std::string("ok") : result.error().message));
  REQUIRE(result);
  CHECK_FALSE(result->help);
  return result->options;
}

std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto result = flags::parse(program(), args, weft::flags::environment_of(std::move(env)));
  REQUIRE_FALSE(result);
  return result.error().message;
}

}  // namespace

TEST_CASE("flags: no arguments leave every default", "[flags]") {
  const Options options = parsed({});
  CHECK(options.name == "sample");
  CHECK(options.workers == 2);
  CHECK_FALSE(options.limit);
  CHECK(options.timeout == milliseconds(1000));
  CHECK(options.elect);
  CHECK(options.metrics == flags::HostPort{"0.0.0.0", 8080});
  CHECK(options.names == std::vector<std::string>{"a.example"});
  CHECK(options.targets.empty());
}

TEST_CASE("flags: both spellings, every kind", "[flags]") {
  const Options options = parsed({"--name",
                                  "api",
                                  "--label=",
                                  "--workers=4",
                                  "--limit",
                                  "7",
                                  "--qps=200",
                                  "--ratio",
                                  "0.25",
                                  "--timeout=250ms",
                                  "--watch",
                                  "1m1500ms",
                                  "--run-for=0",
                                  "--verbose",
                                  "--elect",
                                  "false",
                                  "--mode=off",
                                  "--log-level",
                                  "debug",
                                  "--address",
                                  "::1",
                                  "--fallback=127.0.0.1:80",
                                  "--metrics",
                                  ":9090",
                                  "--names=x.example, y.example",
                                  "--port",
                                  "80",
                                  "--port=443",
                                  "--depth=5",
                                  "http://a/",
                                  "http://b/"});
  CHECK(options.name == "api");
  CHECK(options.label.empty());
  CHECK(options.workers == 4);
  CHECK(options.limit == 7u);
  CHECK(options.qps == 200);
  CHECK(options.ratio == Approx(0.25));
  CHECK(options.timeout == milliseconds(250));
  CHECK(options.watch == seconds(61));  // whole seconds, as the field holds
  CHECK(options.run_for == milliseconds(0));
  CHECK(options.verbose);
  CHECK_FALSE(options.elect);
  CHECK(options.mode == Mode::kOff);
  CHECK(options.level == weft::LogLevel::kDebug);
  CHECK(options.address == "::1");
  CHECK(options.fallback == flags::HostPort{"127.0.0.1", 80});
  CHECK(options.metrics == flags::HostPort{"0.0.0.0", 9090});
  CHECK(options.names == std::vector<std::string>{"x.example", "y.example"});
  CHECK(options.ports == std::vector<std::uint16_t>{80, 443});
  CHECK(options.nested.depth == 5);
  CHECK(options.targets == std::vector<std::string>{"http://a/", "http://b/"});
}

TEST_CASE("flags: switches and optional values", "[flags]") {
  CHECK(parsed({"--verbose=true"}).verbose);
  CHECK_FALSE(parsed({"--verbose", "--verbose=false"}).verbose);
  CHECK(parsed({"--elect=true"}).elect);
  CHECK_FALSE(parsed({"--metrics=0"}).metrics.has_value());
  CHECK_FALSE(parsed({"--fallback=127.0.0.1:80", "--fallback="}).fallback.has_value());
  CHECK(parsed({"--metrics=[::1]:0"}).metrics == flags::HostPort{"::1", 0});
  CHECK(parsed({"--metrics=localhost:1"}).metrics == flags::HostPort{"localhost", 1});
}

TEST_CASE("flags: a flag given twice: the last wins, each is checked", "[flags]") {
  CHECK(parsed({"--workers=3", "--workers", "5"}).workers == 5);
  CHECK_THAT(error_of({"--workers=0", "--workers=5"}), Catch::Contains("--workers: '0'"));
  // Lists collect, and replace their default.
  CHECK(parsed({"--names=b", "--names", "c,d"}).names == std::vector<std::string>{"b", "c", "d"});
}

TEST_CASE("flags: a flag beats its variable, which beats the default", "[flags]") {
  const std::map<std::string, std::string> env = {{"SAMPLE_NAME", "from-env"},
                                                  {"SAMPLE_WORKERS", "6"},
                                                  {"SAMPLE_TIMEOUT", "2s"},
                                                  {"SAMPLE_PORT", "1, 2"},
                                                  {"SAMPLE_TARGETS", "http://e/,http://f/"}};
  const Options from_env = parsed({}, env);
  CHECK(from_env.name == "from-env");
  CHECK(from_env.workers == 6);
  CHECK(from_env.timeout == seconds(2));  // through the program's prefix
  CHECK(from_env.ports == std::vector<std::uint16_t>{1, 2});
  CHECK(from_env.targets.size() == 2);

  const Options flagged = parsed({"--workers=9", "--port=3", "http://g/"}, env);
  CHECK(flagged.workers == 9);
  CHECK(flagged.name == "from-env");
  CHECK(flagged.ports == std::vector<std::uint16_t>{3});  // flags replace the variable's list
  CHECK(flagged.targets == std::vector<std::string>{"http://g/"});

  // An empty variable counts as unset.
  CHECK(parsed({}, {{"SAMPLE_NAME", ""}}).name == "sample");
}

TEST_CASE("flags: bad values name the flag or variable and the value", "[flags]") {
  CHECK(error_of({"--workers", "0"}) == "--workers: '0' is not a number from 1 to 64");
  CHECK(error_of({"--workers", "2x"}) == "--workers: '2x' is not a number from 1 to 64");
  CHECK(error_of({"--workers", ""}) == "--workers: '' is not a number from 1 to 64");
  CHECK(error_of({"--limit=1001"}) == "--limit: '1001' is not a number from 1 to 1000");
  CHECK(error_of({"--ratio=1.5"}) == "--ratio: '1.5' is not a number from 0 to 1");
  CHECK(error_of({"--ratio=nan"}) == "--ratio: 'nan' is not a number from 0 to 1");
  CHECK(error_of({"--name="}) == "--name: must not be empty");
  CHECK(error_of({"--timeout=0s"}) == "--timeout: '0s' must be more than 0");
  CHECK(error_of({"--watch=500ms"}) == "--watch: '500ms' must be at least 1s");
  CHECK_THAT(error_of({"--timeout=soon"}),
             Catch::StartsWith("--timeout: invalid duration \"soon\""));
  CHECK(error_of({"--mode=maybe"}) == "--mode: 'maybe' must be auto, on or off");
  CHECK(error_of({"--log-level=loud"}) == "--log-level: 'loud' must be debug, info, warn or error");
  CHECK(error_of({"--address=localhost"}) ==
        "--address: 'localhost' is not an IPv4 or IPv6 address");
  CHECK(error_of({"--fallback=example.com:80"}) ==
        "--fallback: 'example.com:80': 'example.com' is not an IPv4 or IPv6 address");
  CHECK(error_of({"--fallback=127.0.0.1:0"}) ==
        "--fallback: '127.0.0.1:0': the port must be a number from 1 to 65535");
  CHECK(error_of({"--metrics=8080"}) == "--metrics: '8080' is not HOST:PORT, :PORT or [IPv6]:PORT");
  CHECK(error_of({"--port=0"}) == "--port: '0' is not a number from 1 to 65535");
  CHECK(error_of({"--depth=10"}) == "--depth: '10' is not a number from 0 to 9");
  CHECK(error_of({"ftp://x/"}) == "argument: not http://");
  CHECK(error_of({}, {{"SAMPLE_WORKERS", "x"}}) ==
        "SAMPLE_WORKERS: 'x' is not a number from 1 to 64");
  CHECK(error_of({}, {{"SAMPLE_PORT", "1,x"}}) ==
        "SAMPLE_PORT: 'x' is not a number from 1 to 65535");
}

TEST_CASE("flags: unknown flags, missing values, stray arguments", "[flags]") {
  CHECK(error_of({"--bogus"}) == "unknown flag --bogus");
  CHECK(error_of({"--bogus=1"}) == "unknown flag --bogus");
  CHECK(error_of({"--workers"}) == "--workers needs a value");
  CHECK(error_of({"--verbose=yes"}) == "--verbose takes no value, or true or false, not 'yes'");
  CHECK(error_of({"--help=maybe"}) == "--help takes no value, or true or false, not 'maybe'");

  const flags::Program<Nested> no_arguments{
      .usage = "Usage: nested", .flags = {flags::integer("depth", &Nested::depth, 0, 9, "depth")}};
  auto stray = flags::parse(no_arguments, {"stray"});
  REQUIRE_FALSE(stray);
  CHECK(stray.error().message == "unexpected argument 'stray'");
  CHECK(flags::parse(no_arguments, {"-x"}).error().message == "unexpected argument '-x'");
}

TEST_CASE("flags: -h and --help win over everything else", "[flags]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"--help=true"}, {"--bogus", "--help"}, {"--workers=0", "-h"}}) {
    auto result = flags::parse(program(), args, weft::flags::environment_of({}));
    REQUIRE(result);
    CHECK(result->help);
  }
  CHECK_FALSE(flags::parse(program(), {"--help=false"}, weft::flags::environment_of({}))->help);
}

TEST_CASE("flags: --help is generated from the table", "[flags]") {
  // Value names, defaults from the initial options (empty ones left out), the
  // variables, and one column wide enough for the names.
  CHECK(flags::usage(program()) ==
        "Usage: sample [flags] URL...\n"
        "\n"
        "A program to test the parser.\n"
        "\n"
        "Flags:\n"
        "  --name TEXT           service name (default sample) [$SAMPLE_NAME]\n"
        "  --label TEXT          a label [$SAMPLE_LABEL]\n"
        "  --workers N           worker threads (default 2) [$SAMPLE_WORKERS]\n"
        "  --limit N             stop after N [$SAMPLE_LIMIT]\n"
        "  --qps N               rate limit (default 50) [$SAMPLE_QPS]\n"
        "  --ratio N             a fraction (default 0.5) [$SAMPLE_RATIO]\n"
        "  --timeout DURATION    time limit (default 1s) [$SAMPLE_TIMEOUT]\n"
        "  --watch DURATION      one watch (default 4m50s) [$SAMPLE_WATCH]\n"
        "  --run-for DURATION    how long [$SAMPLE_RUN_FOR]\n"
        "  --verbose             say more [$SAMPLE_VERBOSE]\n"
        "  --elect BOOL          run an election (default true) [$SAMPLE_ELECT]\n"
        "  --mode auto|on|off    watch mode (default auto) [$SAMPLE_MODE]\n"
        "  --log-level LEVEL     how much to log (default info) [$SAMPLE_LOG_LEVEL]\n"
        "  --address IP          listen address (default 0.0.0.0) [$SAMPLE_ADDRESS]\n"
        "  --fallback HOST:PORT  where else\n"
        "                        (none: closed) [$SAMPLE_FALLBACK]\n"
        "  --metrics HOST:PORT   metrics address (default :8080) [$SAMPLE_METRICS]\n"
        "  --names VALUE         DNS names (default a.example) [$SAMPLE_NAMES]\n"
        "  --port PORT           a port (repeatable) [$SAMPLE_PORT]\n"
        "  --depth N             nesting depth (default 3) [$SAMPLE_DEPTH]\n"
        "  URL...                targets [$SAMPLE_TARGETS]\n"
        "  -h, --help            print this help and exit\n"
        "\n"
        "Durations look like 1m30s.\n");
}

TEST_CASE("flags: a name too wide for the column puts its help on the next line", "[flags]") {
  struct Wide {
    std::string value;
  };
  const flags::Program<Wide> wide{
      .usage = "Usage: wide",
      .flags = {flags::text("a-very-long-flag-name-indeed", &Wide::value, "help")
                    .value_name("SOMETHING")}};
  CHECK(flags::usage(wide) ==
        "Usage: wide\n\nFlags:\n"
        "  --a-very-long-flag-name-indeed SOMETHING\n"
        "              help\n"
        "  -h, --help  print this help and exit\n");
}

TEST_CASE("flags: a default and variable that would pass 100 columns go on their own line",
          "[flags]") {
  struct Long {
    std::string value = "a-rather-long-default-value";
  };
  const flags::Program<Long> program{
      .usage = "Usage: long",
      .flags = {flags::text("value", &Long::value,
                            "a help line long enough that its default and variable do not fit")
                    .env("LONG_VALUE_VARIABLE")}};
  CHECK(flags::usage(program) ==
        "Usage: long\n\nFlags:\n"
        "  --value TEXT  a help line long enough that its default and variable do not fit\n"
        "                (default a-rather-long-default-value) [$LONG_VALUE_VARIABLE]\n"
        "  -h, --help    print this help and exit\n");
}

TEST_CASE("flags: host:port parsing and formatting", "[flags]") {
  CHECK(flags::parse_host_port("127.0.0.1:80").value() == flags::HostPort{"127.0.0.1", 80});
  CHECK(flags::parse_host_port("[::1]:8080").value() == flags::HostPort{"::1", 8080});
  CHECK_FALSE(flags::parse_host_port("127.0.0.1"));
  CHECK_FALSE(flags::parse_host_port("127.0.0.1:0"));
  CHECK_FALSE(flags::parse_host_port("[::1]8080"));
  CHECK_FALSE(flags::parse_host_port(":80"));
  CHECK_FALSE(flags::parse_host_port("127.0.0.1:65536"));
  CHECK(flags::format_host_port({"::1", 80}) == "[::1]:80");
  CHECK(flags::format_host_port({"0.0.0.0", 80}, {.empty_host_is_any = true}) == ":80");
}

TEST_CASE("flags: split_commas trims and drops empty items", "[flags]") {
  CHECK(flags::split_commas(" a, b,,c ,") == std::vector<std::string>{"a", "b", "c"});
  CHECK(flags::split_commas("").empty());
}

TEST_CASE("flags: an environment of exactly the variables given", "[flags]") {
  const flags::Env env = flags::environment_of({{"A", "1"}, {"EMPTY", ""}});
  CHECK(env("A") == "1");
  CHECK(env("EMPTY") == "");
  CHECK(env("B") == std::nullopt);
  CHECK(env("a") == std::nullopt);
}
