// The client's wire behaviour against a scripted loopback HTTP server: what it
// sends, and how it treats answers a real apiserver gives only rarely (429,
// a 401 after token rotation, garbage, streams that stop or break).

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_http_server.h"
#include "weft/kube/client.h"

using namespace weft::kube;
using namespace std::chrono_literals;
using kube_test::FakeHttpServer;
using kube_test::FakeRequest;
using kube_test::respond;

namespace {

std::shared_ptr<Client> client_for(const FakeHttpServer& server) {
  ClientConfig config;
  config.server = server.url();
  config.qps = 0;  // no client-side limit in these tests
  auto client = Client::from_config(config);
  REQUIRE(client);
  return *client;
}

const std::string kConfigMap =
    R"({"kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","resourceVersion":"5"}})";

std::string status_body(int code, const char* reason) {
  return nlohmann::json{{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", "m"}}
      .dump();
}

// Blocks until the client closes the connection (or the server stops).
void hold_open(const FakeHttpServer& server, int fd) {
  char byte;
  while (!server.stopping()) {
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, 20) > 0 && ::recv(fd, &byte, 1, 0) <= 0) return;
  }
}

}  // namespace

TEST_CASE("429 is retried as Retry-After says, then given up") {
  int answered = 0;
  FakeHttpServer server([&](const FakeRequest&, int fd) {
    if (++answered <= 2) {
      respond(fd, 429, status_body(429, "TooManyRequests"), "Retry-After: 0\r\n");
    } else {
      respond(fd, 200, kConfigMap);
    }
  });
  auto client = client_for(server);
  auto got = client->get(resources::config_maps(), "ns", "a");
  REQUIRE(got);
  CHECK(server.requests().size() == 3);

  FakeHttpServer always([&](const FakeRequest&, int fd) {
    respond(fd, 429, status_body(429, "TooManyRequests"), "Retry-After: 0\r\n");
  });
  auto throttled = client_for(always)->get(resources::config_maps(), "ns", "a");
  CHECK(throttled.is_error(ErrorKind::kTooManyRequests));
  CHECK(always.requests().size() == 4);  // the first try and 3 retries
}

TEST_CASE("a 401 with a token file re-reads the file and retries once") {
  auto token_path = std::filesystem::temp_directory_path() /
                    ("weft-kube-http-token-" + std::to_string(::getpid()));
  std::ofstream(token_path) << "old-token";
  FakeHttpServer server([&](const FakeRequest& request, int fd) {
    auto auth = request.headers.find("authorization");
    if (auth != request.headers.end() && auth->second == "Bearer old-token") {
      std::ofstream(token_path, std::ios::trunc) << "new-token";  // kubelet rotated it
      respond(fd, 401, status_body(401, "Unauthorized"));
    } else {
      respond(fd, 200, kConfigMap);
    }
  });
  ClientConfig config;
  config.server = server.url();
  config.token_file = token_path.string();
  auto client = *Client::from_config(config);
  REQUIRE(client->get(resources::config_maps(), "ns", "a"));
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].headers.at("authorization") == "Bearer new-token");

  // Still 401 after the re-read: the error is returned, no loop.
  std::ofstream(token_path, std::ios::trunc) << "old-token";
  FakeHttpServer refusing(
      [&](const FakeRequest&, int fd) { respond(fd, 401, status_body(401, "Unauthorized")); });
  config.server = refusing.url();
  auto denied = (*Client::from_config(config))->get(resources::config_maps(), "ns", "a");
  CHECK(denied.is_error(ErrorKind::kUnauthorized));
  CHECK(refusing.requests().size() == 2);
  std::filesystem::remove(token_path);
}

TEST_CASE("what the client sends: methods, content types, queries, bodies") {
  FakeHttpServer server([&](const FakeRequest&, int fd) { respond(fd, 200, kConfigMap); });
  auto client = client_for(server);
  const auto& cms = resources::config_maps();
  nlohmann::json object = {{"metadata", {{"name", "a"}, {"namespace", "ns"}}}};
  REQUIRE(client->apply(cms, object, {"weft-operator", true, false}));
  REQUIRE(client->merge_patch(cms, "ns", "a", {{"data", {{"k", "v"}}}}, {"mgr", true}));
  DeleteOptions options;
  options.precondition_resource_version = "5";
  options.propagation_policy = "Background";
  REQUIRE(client->remove(cms, "ns", "a", options));
  REQUIRE(client->create(cms, object));

  auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].method == "PATCH");
  CHECK(requests[0].target ==
        "/api/v1/namespaces/ns/configmaps/a?fieldManager=weft-operator&force=true");
  CHECK(requests[0].headers.at("content-type") == "application/apply-patch+yaml");
  auto applied = nlohmann::json::parse(requests[0].body);
  CHECK(applied["apiVersion"] == "v1");
  CHECK(applied["kind"] == "ConfigMap");

  CHECK(requests[1].target == "/api/v1/namespaces/ns/configmaps/a?fieldManager=mgr&dryRun=All");
  CHECK(requests[1].headers.at("content-type") == "application/merge-patch+json");

  CHECK(requests[2].method == "DELETE");
  auto delete_body = nlohmann::json::parse(requests[2].body);
  CHECK(delete_body["kind"] == "DeleteOptions");
  CHECK(delete_body["preconditions"]["resourceVersion"] == "5");
  CHECK(delete_body["propagationPolicy"] == "Background");

  CHECK(requests[3].method == "POST");
  CHECK(requests[3].target == "/api/v1/namespaces/ns/configmaps");
  CHECK(requests[3].headers.at("accept") == "application/json");
  CHECK(requests[3].headers.at("user-agent") == "weft");
}

TEST_CASE("list follows continue tokens and keeps the last resourceVersion") {
  FakeHttpServer server([&](const FakeRequest& request, int fd) {
    auto page = [](std::vector<std::string> names, std::string rv, std::string next) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& n : names) items.push_back({{"metadata", {{"name", n}, {"uid", n}}}});
      return nlohmann::json{{"items", items},
                            {"metadata", {{"resourceVersion", rv}, {"continue", next}}}}
          .dump();
    };
    if (request.target.find("continue=t2") != std::string::npos) {
      respond(fd, 200, page({"e"}, "9", ""));
    } else if (request.target.find("continue=t1") != std::string::npos) {
      respond(fd, 200, page({"c", "d", "a"}, "9", "t2"));  // "a" repeated: dropped
    } else {
      respond(fd, 200, page({"a", "b"}, "9", "t1"));
    }
  });
  ListOptions options;
  options.page_size = 2;
  options.label_selector = "x=y";
  auto list = client_for(server)->list(resources::config_maps(), "ns", options);
  REQUIRE(list);
  CHECK(list->pages == 3);
  CHECK(list->items.size() == 5);
  CHECK(list->resource_version == "9");
  auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].target == "/api/v1/namespaces/ns/configmaps?labelSelector=x%3Dy&limit=2");
  CHECK(requests[1].target ==
        "/api/v1/namespaces/ns/configmaps?labelSelector=x%3Dy&limit=2&continue=t1");
}

TEST_CASE("answers that are not what they should be are typed errors") {
  FakeHttpServer server([&](const FakeRequest& request, int fd) {
    if (request.target.find("/configmaps/html") != std::string::npos) {
      respond(fd, 502, "<html>bad gateway</html>");
    } else if (request.target.find("/configmaps/garbage") != std::string::npos) {
      respond(fd, 200, "{not json");
    } else {
      respond(fd, 200, R"({"kind":"ConfigMapList","items":"nope"})");
    }
  });
  auto client = client_for(server);
  auto html = client->get(resources::config_maps(), "ns", "html");
  CHECK(html.is_error(ErrorKind::kServerError));
  CHECK_THAT(html.error().message, Catch::Contains("502"));
  CHECK(client->get(resources::config_maps(), "ns", "garbage").is_error(ErrorKind::kDecode));
  CHECK(client->list(resources::config_maps(), "ns").is_error(ErrorKind::kDecode));
}

namespace {
// A watch answer without Content-Length: the body runs until the connection closes.
void start_stream(int fd) {
  kube_test::write_all(
      fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
}
const std::string kAdded = R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})";
}  // namespace

TEST_CASE("a watch stream: events as they come, clean end, end inside an event") {
  FakeHttpServer server([&](const FakeRequest& request, int fd) {
    start_stream(fd);
    kube_test::write_all(fd, kAdded + "\n" + kAdded.substr(0, 10));
    std::this_thread::sleep_for(50ms);
    kube_test::write_all(fd, kAdded.substr(10) + "\n");
    if (request.target.find("cut") != std::string::npos) {
      kube_test::write_all(fd, kAdded.substr(0, 20));  // and the connection ends
    }
  });
  auto client = client_for(server);
  int events = 0;
  WatchOptions options;
  options.resource_version = "7";
  options.timeout = 60s;
  auto end = client->watch(resources::config_maps(), "ns", options, [&](WatchEvent&& e) {
    CHECK(e.type == WatchEventType::kAdded);
    ++events;
    return true;
  });
  REQUIRE(end);
  CHECK(*end == WatchEnd::kServerClosed);
  CHECK(events == 2);
  CHECK(server.requests()[0].target ==
        "/api/v1/namespaces/ns/configmaps?watch=1&resourceVersion=7&allowWatchBookmarks=true&"
        "timeoutSeconds=60");

  options.label_selector = "cut";
  auto cut =
      client->watch(resources::config_maps(), "ns", options, [&](WatchEvent&&) { return true; });
  REQUIRE_FALSE(cut);
  CHECK(cut.error().kind == ErrorKind::kTransport);
  CHECK_THAT(cut.error().message, Catch::Contains("inside an event"));
}

TEST_CASE("a watch refused with 410 or fed garbage fails with the right kind") {
  FakeHttpServer server([&](const FakeRequest& request, int fd) {
    if (request.target.find("garbage") != std::string::npos) {
      start_stream(fd);
      kube_test::write_all(fd, "this is not json\n");
    } else {
      respond(fd, 410, status_body(410, "Expired"));
    }
  });
  auto client = client_for(server);
  auto gone = client->watch(resources::config_maps(), "", {}, [](WatchEvent&&) { return true; });
  CHECK(gone.is_error(ErrorKind::kGone));
  WatchOptions options;
  options.field_selector = "garbage";
  auto garbage =
      client->watch(resources::config_maps(), "", options, [](WatchEvent&&) { return true; });
  CHECK(garbage.is_error(ErrorKind::kDecode));
}

TEST_CASE("a silent watch stream is cut after the idle timeout") {
  FakeHttpServer server([&](const FakeRequest&, int fd) {
    start_stream(fd);
    hold_open(server, fd);
  });
  WatchOptions options;
  options.timeout = 300s;
  options.idle_timeout = 1s;
  auto start = std::chrono::steady_clock::now();
  auto silent = client_for(server)->watch(resources::config_maps(), "", options,
                                          [](WatchEvent&&) { return true; });
  CHECK(silent.is_error(ErrorKind::kTimeout));
  CHECK(std::chrono::steady_clock::now() - start < 60s);  // generous: not the 300 s
}

TEST_CASE("shutdown ends a 429's Retry-After wait at once with kCancelled") {
  FakeHttpServer server([&](const FakeRequest&, int fd) {
    respond(fd, 429, status_body(429, "TooManyRequests"), "Retry-After: 30\r\n");
  });
  auto client = client_for(server);
  std::jthread stopper([&client] {
    std::this_thread::sleep_for(100ms);
    client->shutdown();
  });
  const auto start = std::chrono::steady_clock::now();
  auto got = client->get(resources::config_maps(), "ns", "a");
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(got.is_error(ErrorKind::kCancelled));
  CHECK(took < 1s);
  CHECK(server.requests().size() == 1);  // no retry after the shutdown

  // Later calls do not wait either.
  auto again = client->get(resources::config_maps(), "ns", "a");
  CHECK(again.is_error(ErrorKind::kCancelled));
}
