// The memory a client can make weft::http::Server hold: per body, in flight,
// large bodies at once, per client address, and shedding on resident memory;
// and the lingering close that lets a refused client read its answer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/http/http_test_client.h"
#include "weft/http/server.h"
#include "weft/metrics.h"

using weft::http::Request;
using weft::http::Response;
using weft::http::Routes;
using weft::http::Server;
using weft::http::ServerOptions;
using weft::test::http_get;
using weft::test::http_post;

namespace {

Routes size_routes() {
  Routes routes;
  routes["/size"] = [](const Request& request) {
    return Response{200, std::to_string(request.body.size())};
  };
  routes["/healthz"] = [](const Request&) { return Response{200, "ok"}; };
  return routes;
}

// A plain TCP connection from `source` (any 127/8 address) that sends a request
// head announcing `content_length` and `sent` bytes of its body, then stalls.
class StalledBody {
 public:
  StalledBody(std::uint16_t port, std::size_t content_length, std::size_t sent,
              const char* source = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (fd_ < 0 || inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      return;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      return;
    }
    const std::string head =
        "POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) +
        "\r\n\r\n" + std::string(sent, 'a');
    ok_ = send_all(head);
  }
  // Blocks until the server took it all (or failed, e.g. reset).
  bool send_all(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  ~StalledBody() {
    if (fd_ >= 0) close(fd_);
  }
  StalledBody(const StalledBody&) = delete;
  StalledBody& operator=(const StalledBody&) = delete;
  bool ok() const { return ok_; }
  // The first line of the answer ("" if none came within 10 s).
  std::string status_line() const {
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string answer;
    char buffer[512];
    while (answer.find("\r\n") == std::string::npos) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    return answer.substr(0, answer.find("\r\n"));
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace

TEST_CASE("the default body limit is far below 4 MiB and counted", "[http][limits]") {
  weft::Registry registry;
  ServerOptions options;
  options.registry = &registry;
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  // Answered from the head: the client need not (and here does not) send the body.
  StalledBody too_large(port, 2 * 1024 * 1024, 0);
  REQUIRE(too_large.ok());
  CHECK(too_large.status_line() == "HTTP/1.1 413 Payload Too Large");
  CHECK((*server)->stats().refused_body_too_large == 1);
  CHECK(registry.expose().find("weft_http_requests_refused_total{reason=\"body_too_large\"} 1") !=
        std::string::npos);

  auto fits = http_post(port, "/size", std::string(512 * 1024, 'x'));
  REQUIRE(fits);
  CHECK(fits->status == 200);
  CHECK(fits->body == std::to_string(512 * 1024));
  CHECK((*server)->stats().body_bytes_in_flight == 0);
}

TEST_CASE("bodies in flight are bounded by the bytes they hold", "[http][limits]") {
  ServerOptions options;
  options.max_body_bytes_in_flight = 100'000;
  options.large_body_bytes = 1'000'000;  // only the byte budget here
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  // 79,000 of 80,000 bytes received: the body holds its whole length now.
  StalledBody stalled(port, 80'000, 79'000);
  REQUIRE(stalled.ok());
  REQUIRE(eventually([&] { return (*server)->stats().body_bytes_in_flight == 80'000; }));

  // This one would need 30,000 more: refused when its bytes come, answered.
  StalledBody refused(port, 30'000, 25'000);
  REQUIRE(refused.ok());
  CHECK(refused.status_line() == "HTTP/1.1 503 Service Unavailable");
  CHECK((*server)->stats().refused_bytes_in_flight == 1);

  // What fits beside it is still served, and bodiless requests always are.
  auto small = http_post(port, "/size", std::string(10'000, 'x'));
  REQUIRE(small);
  CHECK(small->status == 200);
  auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("heads that announce bodies and send nothing hold no body memory", "[http][limits]") {
  ServerOptions options;
  options.max_body_bytes_in_flight = 1'000'000;
  options.max_body_bytes_in_flight_per_source = 1'000'000;
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  // Together they announce 20 times the budget; before bodies were granted
  // memory as their bytes arrive, they took all of it for the read timeout.
  std::vector<std::unique_ptr<StalledBody>> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(std::make_unique<StalledBody>(port, 1'000'000, 0));
    REQUIRE(silent.back()->ok());
  }
  REQUIRE(eventually([&] { return (*server)->stats().open_connections >= 20; }));
  CHECK((*server)->stats().body_bytes_in_flight == 0);

  auto real = http_post(port, "/size", std::string(500'000, 'x'));
  REQUIRE(real);
  CHECK(real->status == 200);
  CHECK(real->body == "500000");
  const auto stats = (*server)->stats();
  CHECK(stats.refused_bytes_in_flight + stats.refused_large_bodies + stats.refused_source == 0);
}

TEST_CASE("large bodies at once are capped; small ones still pass", "[http][limits]") {
  ServerOptions options;
  options.large_body_bytes = 4096;
  options.max_large_bodies = 2;
  options.max_large_bodies_per_source = 2;
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  // 10,000 bytes received: each holds 16 KiB, a large body.
  StalledBody first(port, 50'000, 10'000);
  StalledBody second(port, 50'000, 10'000);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(eventually([&] { return (*server)->stats().body_bytes_in_flight == 2 * 16'384; }));

  StalledBody large(port, 5000, 4500);
  REQUIRE(large.ok());
  CHECK(large.status_line() == "HTTP/1.1 503 Service Unavailable");
  CHECK((*server)->stats().refused_large_bodies == 1);

  auto small = http_post(port, "/size", std::string(4000, 'x'));
  REQUIRE(small);
  CHECK(small->status == 200);
}

TEST_CASE("one client address gets only its share of body memory", "[http][limits]") {
  weft::Registry registry;
  ServerOptions options;
  options.registry = &registry;
  options.max_body_bytes_in_flight = 1'000'000;
  options.max_body_bytes_in_flight_per_source = 100'000;
  options.large_body_bytes = 1'000'000;  // only bytes here
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  StalledBody held(port, 80'000, 79'000, "127.0.0.2");
  REQUIRE(held.ok());
  REQUIRE(eventually([&] { return (*server)->stats().body_bytes_in_flight == 80'000; }));

  StalledBody greedy(port, 30'000, 25'000, "127.0.0.2");
  REQUIRE(greedy.ok());
  CHECK(greedy.status_line() == "HTTP/1.1 503 Service Unavailable");
  CHECK((*server)->stats().refused_source == 1);
  CHECK(registry.expose().find("weft_http_requests_refused_total{reason=\"source\"} 1") !=
        std::string::npos);

  // Another address is not held back by it.
  StalledBody other(port, 30'000, 29'000, "127.0.0.3");
  REQUIRE(other.ok());
  CHECK(eventually([&] { return (*server)->stats().body_bytes_in_flight == 110'000; }));
  CHECK((*server)->stats().body_sources == 2);
}

TEST_CASE("a stalled body's memory is released when its connection goes", "[http][limits]") {
  ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  {
    StalledBody stalled((*server)->port(), 50'000, 40'000);
    REQUIRE(stalled.ok());
    REQUIRE(eventually([&] { return (*server)->stats().body_bytes_in_flight == 50'000; }));
  }
  CHECK(eventually([&] { return (*server)->stats().body_bytes_in_flight == 0; }));
  CHECK((*server)->stats().body_sources == 0);
}

TEST_CASE("a client refused while it sends its body still reads the answer", "[http][limits]") {
  ServerOptions options;
  options.max_body_bytes = 64 * 1024;
  options.linger_timeout = std::chrono::seconds(60);  // a slow machine still sends it all
  auto server = Server::start(options, size_routes());
  REQUIRE(server);

  // Head and 4 MiB body sent in one go, as most clients do, before reading:
  // closing at once would reset the connection and drop the 413 on the way.
  StalledBody whole((*server)->port(), 4 * 1024 * 1024, 0);
  REQUIRE(whole.ok());
  CHECK(whole.send_all(std::string(4 * 1024 * 1024, 'a')));
  CHECK(whole.status_line() == "HTTP/1.1 413 Payload Too Large");
}

TEST_CASE("over the resident-memory threshold, requests with a body get 503", "[http][limits]") {
  REQUIRE(weft::http::process_resident_bytes() > 0);
  weft::Registry registry;
  ServerOptions options;
  options.registry = &registry;
  options.shed_resident_bytes = 1;  // always over
  auto server = Server::start(options, size_routes());
  REQUIRE(server);
  const auto port = (*server)->port();
  REQUIRE(eventually([&] {
    return registry.expose().find("weft_http_resident_memory_bytes 0\n") == std::string::npos;
  }));

  StalledBody shed(port, 2, 0);
  REQUIRE(shed.ok());
  CHECK(shed.status_line() == "HTTP/1.1 503 Service Unavailable");
  CHECK((*server)->stats().refused_memory == 1);
  CHECK(registry.expose().find("weft_http_requests_refused_total{reason=\"memory\"} 1") !=
        std::string::npos);
  // Probes and scrapes carry no body and cost next to nothing: still answered.
  auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}
