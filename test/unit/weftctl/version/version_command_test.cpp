#include "weftctl/version/version_command.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "../check/check_fixtures.h"
#include "../check/fake_cluster_reader.h"
#include "weftctl/version/component_version.h"

using namespace weft::ctl;
using namespace weft::ctl::check::testing;
using weft::ctl::check::answer_json;

TEST_CASE("version: a pod's version from its label, else its image tag") {
  auto pod = control_plane_pod("weft-webhook", "w", "0.1.0");
  CHECK(pod_version(pod) == "v0.1.0");
  pod["spec"]["containers"][0]["image"] = "registry:5000/weft/weft-webhook";
  CHECK(pod_version(pod) == "");
  pod["spec"]["containers"][0]["image"] = "registry:5000/weft/weft-webhook:v0.2.0@sha256:abc";
  CHECK(pod_version(pod) == "v0.2.0");
  pod["metadata"]["labels"]["app.kubernetes.io/version"] = "0.3.0";
  CHECK(pod_version(pod) == "v0.3.0");
  CHECK(normalize_version("latest") == "latest");
}

TEST_CASE("version: the client's is the project's, as the proxy writes its own") {
  std::ifstream cmake(repository_file("CMakeLists.txt"));
  std::stringstream text;
  text << cmake.rdbuf();
  const std::string marker = "project(weft VERSION ";
  const auto at = text.str().find(marker);
  REQUIRE(at != std::string::npos);
  const auto start = at + marker.size();
  CHECK(client_version() == "v" + text.str().substr(start, text.str().find(' ', start) - start));
}

TEST_CASE("version: the cluster's versions, table and JSON") {
  FakeClusterReader reader;
  reader.answers["/version"] = answer_json(200, {{"gitVersion", "v1.34.4"}});
  reader.answers
      ["/api/v1/namespaces/weft-system/pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dweft"] =
      healthy_facts().control_plane_pods;
  reader.answers["/api/v1/namespaces/weft-system/configmaps/weft-webhook-config"] =
      answer_json(200, {{"data", {{"config.json", R"({"proxyVersion": "v0.1.0"})"}}}});
  const auto versions = gather_versions(reader);
  CHECK(versions["kubernetes"] == "v1.34.4");
  CHECK(versions["controlPlane"]["weft-webhook"] == nlohmann::json::array({"v0.1.0"}));
  CHECK(versions["proxy"] == "v0.1.0");
  CHECK_FALSE(versions.contains("error"));
  std::ostringstream out;
  render_versions(out, versions);
  CHECK_THAT(out.str(), Catch::Contains("Kubernetes API server: v1.34.4\n"));
  CHECK_THAT(out.str(), Catch::Contains("weft-identity  v0.1.0"));
  CHECK_THAT(out.str(), Catch::Contains("Proxy (injected by the webhook): v0.1.0\n"));
}

TEST_CASE("version: an unreachable cluster still gives the client's version") {
  FakeClusterReader reader;
  reader.answers["/version"] = weft::ctl::check::Answer{0, nullptr, "connection refused"};
  const auto versions = gather_versions(reader);
  CHECK(versions["client"] == client_version());
  CHECK(versions["error"] == "the API server: connection refused");
}
