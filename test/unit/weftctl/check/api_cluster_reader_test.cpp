// ApiClusterReader on the wire: what a pod answers through the pod proxy is
// bounded, and --wait's deadline bounds every request of a round.

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "../../kube/fake_http_server.h"
#include "weftctl/check/gather.h"

using namespace weft::ctl::check;
using kube_test::FakeHttpServer;
using kube_test::FakeRequest;
using kube_test::respond;

namespace {

constexpr auto kPodPath = "/api/v1/namespaces/shop/pods/web-1:4191/proxy/version";

std::shared_ptr<weft::kube::Client> client_for(const FakeHttpServer& server) {
  weft::kube::ClientConfig config;
  config.server = server.url();
  config.qps = 0;
  auto client = weft::kube::Client::from_config(config);
  REQUIRE(client);
  return *client;
}

// Answers nothing until the client goes.
void hold_open(const FakeHttpServer& server, int fd) {
  char byte;
  while (!server.stopping()) {
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, 20) > 0 && ::recv(fd, &byte, 1, 0) <= 0) return;
  }
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

}  // namespace

TEST_CASE("api reader: a pod's answer is capped and its 429 not retried") {
  FakeHttpServer huge([](const FakeRequest&, int fd) {
    respond(fd, 200, R"({"version": ")" + std::string(100'000, 'x') + R"("})");
  });
  auto client = client_for(huge);
  ApiClusterReader reader(*client, {.timeout = std::chrono::seconds(5)});
  const Answer capped = reader.probe_pod(kPodPath);
  CHECK(capped.status == 0);
  CHECK_THAT(capped.error, Catch::Contains("larger than 16384 bytes"));
  // The API server's own answers keep the client's cap.
  CHECK(reader.get("/api/v1/pods").found());

  FakeHttpServer throttled([](const FakeRequest&, int fd) {
    respond(fd, 429, R"({"kind": "Status"})", "Retry-After: 1\r\n");
  });
  auto throttled_client = client_for(throttled);
  ApiClusterReader pod_reader(*throttled_client, {.timeout = std::chrono::seconds(5)});
  CHECK(pod_reader.probe_pod(kPodPath).status == 429);
  CHECK(throttled.requests().size() == 1);
}

TEST_CASE("api reader: --pod-timeout and the --wait deadline cut a silent answer") {
  FakeHttpServer* self = nullptr;
  FakeHttpServer silent([&](const FakeRequest&, int fd) { hold_open(*self, fd); });
  self = &silent;
  auto client = client_for(silent);
  ApiClusterReader reader(*client, {.timeout = std::chrono::milliseconds(200)});
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(reader.probe_pod(kPodPath).found());
  CHECK(since(start) < std::chrono::seconds(2));

  // The deadline cuts the API server's requests too (30 s otherwise).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  reader.set_deadline(deadline);
  start = std::chrono::steady_clock::now();
  CHECK_FALSE(reader.get("/api/v1/pods").found());
  CHECK(since(start) < std::chrono::seconds(2));
  // Past it, nothing is asked (curl may give up a moment before it).
  std::this_thread::sleep_until(deadline + std::chrono::milliseconds(10));
  const auto asked = silent.requests().size();
  const Answer late = reader.get("/api/v1/pods");
  CHECK_THAT(late.error, Catch::Contains("deadline passed"));
  CHECK(silent.requests().size() == asked);
}
