#include "weftctl/cli.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "weftctl/pod_probe.h"

using weft::ctl::expand_short_flags;
using weft::ctl::Output;
using weft::ctl::parse_invocation;

namespace {

const auto kNoEnvironment = weft::flags::environment_of({});

weft::ctl::Invocation parse_ok(const std::vector<std::string>& args, bool terminal = false,
                               const weft::flags::Env& env = kNoEnvironment) {
  auto parsed = parse_invocation(args, terminal, env);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed);
  return *parsed;
}

std::string error_of(const std::vector<std::string>& args) {
  auto parsed = parse_invocation(args, false, kNoEnvironment);
  REQUIRE_FALSE(parsed);
  return parsed.error().message;
}

}  // namespace

TEST_CASE("global flags are taken from anywhere on the line, as kubectl takes them") {
  const auto before = parse_ok({"-n", "shop", "stat", "deploy", "web"});
  const auto after = parse_ok({"stat", "deploy", "web", "-n", "shop"});
  for (const auto& invocation : {before, after}) {
    CHECK(invocation.command == "stat");
    CHECK(invocation.args == std::vector<std::string>{"deploy", "web"});
    CHECK(invocation.options.namespace_name == "shop");
  }
  const auto joined = parse_ok({"stat", "-nshop", "-ojson", "--context=kind", "--kubeconfig", "k"});
  CHECK(joined.options.namespace_name == "shop");
  CHECK(joined.options.output == Output::kJson);
  CHECK(joined.options.context == "kind");
  CHECK(joined.options.kubeconfig == "k");
  CHECK(parse_ok({"check", "-o=yaml"}).options.output == Output::kYaml);
  CHECK(parse_ok({"stat", "ns", "-A"}).options.all_namespaces);
  CHECK_FALSE(parse_ok({"stat", "ns", "--all-namespaces=false"}).options.all_namespaces);
}

TEST_CASE("the command's own flags and words are left to it, in order") {
  const auto invocation = parse_ok({"inject", "-f", "app.yaml", "--manual", "-", "--", "-n"});
  CHECK(invocation.command == "inject");
  CHECK(invocation.args == std::vector<std::string>{"-f", "app.yaml", "--manual", "-", "--", "-n"});
  CHECK(invocation.options.namespace_name.empty());
  // --help after the command belongs to the command.
  const auto help = parse_ok({"check", "--help"});
  CHECK_FALSE(help.help);
  CHECK(help.args == std::vector<std::string>{"--help"});
}

TEST_CASE("help and version before a command, or no command at all") {
  CHECK(parse_ok({}).help);
  CHECK(parse_ok({"-h"}).help);
  const auto help_for = parse_ok({"--help", "stat"});
  CHECK(help_for.help);
  CHECK(help_for.command == "stat");
  const auto version = parse_ok({"--version"});
  CHECK(version.version);
  CHECK_FALSE(version.help);
}

TEST_CASE("bad global flags are refused with the flag and the value") {
  CHECK(error_of({"stat", "-o", "xml"}) == "--output: 'xml' is not table, json or yaml");
  CHECK(error_of({"stat", "-n"}) == "--namespace needs a value");
  CHECK(error_of({"stat", "--namespace="}) == "--namespace needs a value");
  CHECK(error_of({"--color=sometimes", "check"}) ==
        "--color: 'sometimes' is not auto, always or never");
  CHECK(error_of({"--frobnicate", "check"}).find("unknown flag --frobnicate") == 0);
  CHECK(error_of({"stat", "-n", "a", "-A"}) ==
        "--namespace and --all-namespaces exclude each other");
  CHECK(error_of({"stat", "--all-namespaces=maybe"}).find("--all-namespaces takes no value") == 0);
}

TEST_CASE("colour: on a terminal unless NO_COLOR or a dumb terminal; always and never win") {
  CHECK(parse_ok({"check"}, true).options.color);
  CHECK_FALSE(parse_ok({"check"}, false).options.color);
  CHECK_FALSE(
      parse_ok({"check"}, true, weft::flags::environment_of({{"NO_COLOR", "1"}})).options.color);
  CHECK_FALSE(
      parse_ok({"check"}, true, weft::flags::environment_of({{"TERM", "dumb"}})).options.color);
  CHECK(parse_ok({"check", "--color=always"}, false).options.color);
  CHECK_FALSE(parse_ok({"check", "--color", "never"}, true).options.color);
}

TEST_CASE("a command's short flags become the long ones the flag parser reads") {
  const std::map<char, std::string> names = {{'f', "filename"}, {'w', "watch"}};
  CHECK(expand_short_flags({"-f", "a.yaml", "-fb.yaml", "-f=c.yaml", "-w", "-x", "-", "--", "-f"},
                           names) ==
        std::vector<std::string>{"--filename", "a.yaml", "--filename=b.yaml", "--filename=c.yaml",
                                 "--watch", "-x", "-", "--", "-f"});
}

TEST_CASE("the bounds on asking pods: defaults, flags, bad values") {
  const auto defaults = parse_ok({"check"}).options.pod_probe;
  CHECK(defaults.timeout == std::chrono::seconds(5));
  CHECK(defaults.max_metrics_bytes == 8u * 1024 * 1024);
  const auto set = parse_ok({"stat", "--pod-timeout", "1500ms", "--max-metrics-bytes=65536"});
  CHECK(set.options.pod_probe.timeout == std::chrono::milliseconds(1500));
  CHECK(set.options.pod_probe.max_metrics_bytes == 65536);
  CHECK(error_of({"check", "--pod-timeout", "0s"}) ==
        "--pod-timeout: '0s' is not a positive duration (5s, 500ms)");
  CHECK(error_of({"stat", "--max-metrics-bytes=8M"}) ==
        "--max-metrics-bytes: '8M' is not a positive number of bytes");
  // /version's own cap, whatever the flag.
  CHECK(weft::ctl::pod_answer_cap("/api/v1/namespaces/a/pods/p:4191/proxy/version", {}) ==
        16 * 1024);
  CHECK(weft::ctl::pod_answer_cap("/api/v1/namespaces/a/pods/p:4191/proxy/metrics",
                                  {.max_metrics_bytes = 10}) == 10);
}
