#include "weftctl/check/check_command.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "check_fixtures.h"
#include "fake_cluster_reader.h"

using namespace weft::ctl;
using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
struct Run {
  int status;
  std::string out;
  std::string err;
};

Run run(FakeClusterReader& reader, const CheckOptions& options, Output output = Output::kTable) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  Context context{{}, in, out, err, {}};
  context.options.output = output;
  std::chrono::steady_clock::time_point steady{};
  const int status = run_check(
      context, options, reader, [] { return certificates().made; }, [&] { return steady; },
      [&](std::chrono::milliseconds pause) { steady += pause; });
  return {status, out.str(), err.str()};
}
}  // namespace

TEST_CASE("check command: exit 1 and the hint when the API server is unreachable") {
  FakeClusterReader reader;
  reader.answers["/version"] = Answer{0, nullptr, "connection refused"};
  const auto result = run(reader, {});
  CHECK(result.status == 1);
  CHECK_THAT(result.out, Catch::Contains("× can reach the API server\n    connection refused\n"));
}

TEST_CASE("check command: --pre exits 0 when allowed, -o json for machines") {
  FakeClusterReader reader;
  reader.answers["/version"] = answer_json(200, {{"gitVersion", "v1.34.4"}});
  CheckOptions options;
  options.pre = true;
  const auto result = run(reader, options, Output::kJson);
  CHECK(result.status == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["success"] == true);
  CHECK(json["categories"][1]["name"] == "pre-install");
  reader.post_answer = answer_json(201, {{"status", {{"allowed", false}}}});
  CHECK(run(reader, options).status == 1);
}

TEST_CASE("check command: --wait retries until the timeout, then exits 1") {
  FakeClusterReader reader;
  reader.answers["/version"] = answer_json(200, {{"gitVersion", "v1.34.4"}});
  CheckOptions options;
  options.wait = std::chrono::seconds(10);
  const auto result = run(reader, options);
  CHECK(result.status == 1);
  const auto versions = std::count(reader.asked.begin(), reader.asked.end(), "/version");
  CHECK(versions == 6);  // at 0, 2, 4, 6, 8 and 10 s
}

TEST_CASE("check command: usage errors exit 2, --help 0") {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  Context context{{}, in, out, err, {}};
  CHECK(check_command(context, {"--wait", "soon"}) == 2);
  CHECK_THAT(err.str(), Catch::Contains("--wait"));
  CHECK(check_command(context, {"--help"}) == 0);
  CHECK_THAT(out.str(), Catch::Contains("--pre"));
}
