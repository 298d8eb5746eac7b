#include "weftctl/check/render.h"

#include <catch2/catch.hpp>
#include <sstream>

using namespace weft::ctl::check;

namespace {
const CheckResults kResults = {
    ok("kubernetes-api", "can reach the API server"),
    ok("kubernetes-api", "the API server's version is supported", "v1.34.4"),
    fail("weft-control-plane", "weft-webhook is ready", "scaled to zero replicas",
         "kubectl -n weft-system scale deployment/weft-webhook --replicas=2"),
    warn("weft-control-plane", "weft-operator is ready", "1 of 2 ready", ""),
};
}  // namespace

TEST_CASE("render: a checklist by category, details and hints under the bad ones") {
  std::ostringstream out;
  render_checklist(out, kResults, false);
  CHECK(out.str() ==
        "kubernetes-api\n"
        "--------------\n"
        "✓ can reach the API server\n"
        "✓ the API server's version is supported\n"
        "\n"
        "weft-control-plane\n"
        "------------------\n"
        "× weft-webhook is ready\n"
        "    scaled to zero replicas\n"
        "    hint: kubectl -n weft-system scale deployment/weft-webhook --replicas=2\n"
        "‼ weft-operator is ready\n"
        "    1 of 2 ready\n"
        "\n"
        "Status check results are × (1 failed, 1 warning(s))\n");
}

TEST_CASE("render: all ok, and colour only when asked") {
  std::ostringstream plain;
  render_checklist(plain, {kResults[0], kResults[1]}, false);
  CHECK_THAT(plain.str(), Catch::EndsWith("\nStatus check results are ✓\n"));
  CHECK(plain.str().find('\x1b') == std::string::npos);
  std::ostringstream colored;
  render_checklist(colored, kResults, true);
  CHECK(colored.str().find("\x1b[") != std::string::npos);
}

TEST_CASE("render: JSON has every result, the ok ones' details too") {
  const auto json = results_json(kResults);
  CHECK(json["success"] == false);
  REQUIRE(json["categories"].size() == 2);
  CHECK(json["categories"][0]["name"] == "kubernetes-api");
  CHECK(json["categories"][0]["checks"][1] ==
        nlohmann::json{{"name", "the API server's version is supported"},
                       {"result", "ok"},
                       {"detail", "v1.34.4"},
                       {"hint", ""}});
  CHECK(json["categories"][1]["checks"][0]["result"] == "error");
  CHECK(json["categories"][1]["checks"][1]["result"] == "warning");
  CHECK(results_json({kResults[0]})["success"] == true);
}

TEST_CASE("render: what a pod answered cannot drive the terminal") {
  std::ostringstream out;
  render_checklist(out,
                   {fail("weft-data-plane", "proxies run \x1b[8m", "shop/web-1 runs \x1b[2A\x1b[2K",
                         "\x1b]52;c;aGk=\x07")},
                   false);
  CHECK(out.str().find('\x1b') == std::string::npos);
  CHECK(out.str().find('\x07') == std::string::npos);
  CHECK(out.str().find("shop/web-1 runs \\x1B[2A\\x1B[2K") != std::string::npos);
}
