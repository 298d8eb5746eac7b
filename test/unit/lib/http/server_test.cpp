#include "weft/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lib/http/http_test_client.h"
#include "weft/http/certificates.h"

using weft::http::Request;
using weft::http::Response;
using weft::http::Routes;
using weft::http::Server;
using weft::http::ServerOptions;
using weft::test::http_get;
using weft::test::http_post;

namespace {

Routes echo_routes() {
  Routes routes;
  routes["/healthz"] = [](const Request&) { return Response{200, "ok"}; };
  routes["/echo"] = [](const Request& request) {
    return Response{200, request.method + " " + request.query + " " + request.content_type + " " +
                             request.body};
  };
  routes["/throws"] = [](const Request&) -> Response { throw std::runtime_error("boom"); };
  return routes;
}

// A directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char pattern[] = "/tmp/weft-http-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    // Written aside and renamed, as Kubernetes updates a mounted Secret.
    const auto target = path / name;
    const auto staging = path / (name + ".new");
    std::ofstream(staging) << content;
    std::filesystem::rename(staging, target);
    return target.string();
  }
};

struct TestPki {
  weft::http::PemCertificate ca;
  weft::http::PemCertificate serving;
};

TestPki make_pki(const std::string& ca_name) {
  auto ca = weft::http::make_certificate_authority(ca_name, std::chrono::hours(1));
  REQUIRE(ca);
  weft::http::CertificateRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  auto serving = weft::http::issue_certificate(*ca, request);
  REQUIRE(serving);
  return {*ca, *serving};
}

// A raw TCP connection that sends nothing: a client stalled before (or in) the
// TLS handshake. Returns the file descriptor, or -1.
// From `source`, any 127/8 address.
int connect_raw(std::uint16_t port, const char* source = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  if (inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Polls `condition` for up to 10 s: generous, so a slow machine does not fail it.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace

TEST_CASE("plain HTTP: routes, 404, query, body, handler exceptions", "[http]") {
  auto server = Server::start(ServerOptions{}, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();
  REQUIRE(port != 0);

  auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok");

  auto echo = http_post(port, "/echo?a=1", "{}");
  REQUIRE(echo);
  CHECK(echo->body == "POST a=1 application/json {}");

  auto missing = http_get(port, "/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  auto thrown = http_get(port, "/throws");
  REQUIRE(thrown);
  CHECK(thrown->status == 500);
  CHECK(thrown->body == "internal error\n");
  CHECK((*server)->stats().requests == 4);
}

TEST_CASE("a body over the limit gets 413, a malformed request 400", "[http]") {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  auto big = http_post(port, "/echo", std::string(4096, 'x'));
  REQUIRE(big);
  CHECK(big->status == 413);

  const int fd = connect_raw(port);
  REQUIRE(fd >= 0);
  const std::string garbage = "THIS IS NOT HTTP\r\n\r\n";
  REQUIRE(write(fd, garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
  char buffer[512] = {};
  const auto got = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  REQUIRE(got > 0);
  CHECK(std::string(buffer).rfind("HTTP/1.1 400", 0) == 0);

  // The server is still fine.
  auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("start fails clearly on a bad address, a used port, missing or mismatched TLS files",
          "[http]") {
  ServerOptions bad_address;
  bad_address.address = "not-an-ip";
  auto failed = Server::start(bad_address, {});
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error().message, Catch::Contains("invalid listen address 'not-an-ip'"));

  auto first = Server::start(ServerOptions{}, {});
  REQUIRE(first);
  ServerOptions same_port;
  same_port.port = (*first)->port();
  auto second = Server::start(same_port, {});
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error().message, Catch::Contains("cannot listen on 127.0.0.1:"));

  TempDir dir;
  ServerOptions missing;
  missing.tls =
      weft::http::TlsFiles{(dir.path / "none.crt").string(), (dir.path / "none.key").string()};
  auto no_files = Server::start(missing, {});
  REQUIRE_FALSE(no_files);
  CHECK_THAT(no_files.error().message, Catch::Contains("cannot read"));

  const auto a = make_pki("a");
  const auto b = make_pki("b");
  ServerOptions mismatched;
  mismatched.tls = weft::http::TlsFiles{dir.write("tls.crt", a.serving.cert),
                                        dir.write("tls.key", b.serving.key)};
  auto mismatch = Server::start(mismatched, {});
  REQUIRE_FALSE(mismatch);
  CHECK_THAT(mismatch.error().message, Catch::Contains("mismatch"));

  ServerOptions garbage;
  garbage.tls = weft::http::TlsFiles{dir.write("g.crt", "not a certificate"),
                                     dir.write("g.key", a.serving.key)};
  auto not_pem = Server::start(garbage, {});
  REQUIRE_FALSE(not_pem);
  CHECK_THAT(not_pem.error().message, Catch::Contains("TLS certificate"));
}

TEST_CASE("TLS: serves, and picks up a new certificate and key without a restart", "[http][tls]") {
  TempDir dir;
  const auto first = make_pki("first-ca");
  ServerOptions options;
  options.tls = weft::http::TlsFiles{dir.write("tls.crt", first.serving.cert),
                                     dir.write("tls.key", first.serving.key)};
  options.tls_reload_interval = std::chrono::milliseconds(50);
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  auto ok = http_get(port, "/healthz", first.ca.cert);
  REQUIRE(ok);
  CHECK(ok->body == "ok");
  // A client that trusts another CA is refused.
  const auto second = make_pki("second-ca");
  auto untrusted = http_get(port, "/healthz", second.ca.cert);
  REQUIRE_FALSE(untrusted);
  CHECK_THAT(untrusted.error().message, Catch::Contains("handshake"));

  // A half-written rotation (new cert, old key) is not taken: the old pair stays.
  dir.write("tls.crt", second.serving.cert);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto still_old = http_get(port, "/healthz", first.ca.cert);
  REQUIRE(still_old);
  CHECK((*server)->stats().tls_reloads == 0);

  // The key follows: the new pair is served.
  dir.write("tls.key", second.serving.key);
  CHECK(eventually([&] { return static_cast<bool>(http_get(port, "/healthz", second.ca.cert)); }));
  CHECK((*server)->stats().tls_reloads == 1);
  CHECK_FALSE(http_get(port, "/healthz", first.ca.cert));
}

TEST_CASE("TLS 1.1 and older are refused", "[http][tls]") {
  TempDir dir;
  const auto pki = make_pki("ca");
  ServerOptions options;
  options.tls = weft::http::TlsFiles{dir.write("tls.crt", pki.serving.cert),
                                     dir.write("tls.key", pki.serving.key)};
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);

  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  REQUIRE(context != nullptr);
  SSL_CTX_set_min_proto_version(context, TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(context, TLS1_1_VERSION);
  SSL_CTX_set_security_level(context, 0);  // allow the client to even try TLS 1.1
  const int fd = connect_raw((*server)->port());
  REQUIRE(fd >= 0);
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fd);
  ERR_clear_error();
  CHECK(SSL_connect(ssl) != 1);
  // Refused for its version, by the server's minimum. Without that minimum the
  // handshake still fails (OpenSSL 3's default security level finds no
  // signature algorithm it allows for TLS 1.1), but with an internal_error
  // alert: this check tells the two apart.
  CHECK(ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
  SSL_free(ssl);
  SSL_CTX_free(context);
  close(fd);
}

TEST_CASE("stalled handshakes are evicted, so real clients are served meanwhile", "[http][tls]") {
  TempDir dir;
  const auto pki = make_pki("ca");
  ServerOptions options;
  options.tls = weft::http::TlsFiles{dir.write("tls.crt", pki.serving.cert),
                                     dir.write("tls.key", pki.serving.key)};
  options.max_handshaking = 8;
  options.handshake_timeout = std::chrono::seconds(30);  // eviction, not the timeout, frees them
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();

  std::vector<int> stalled;
  for (int i = 0; i < 100; ++i) {
    const int fd = connect_raw(port);
    if (fd >= 0) stalled.push_back(fd);
  }
  REQUIRE(stalled.size() == 100);
  CHECK(eventually([&] { return (*server)->stats().accepted >= 100; }));
  CHECK(eventually([&] { return (*server)->stats().open_connections <= 8; }));
  CHECK((*server)->stats().handshakes_evicted >= 92);

  for (int i = 0; i < 5; ++i) {
    auto reply = http_get(port, "/healthz", pki.ca.cert);
    REQUIRE(reply);
    CHECK(reply->status == 200);
  }
  for (int fd : stalled) close(fd);
}

TEST_CASE("a connection that never sends is closed at the handshake or read timeout", "[http]") {
  ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const int fd = connect_raw((*server)->port());
  REQUIRE(fd >= 0);
  char byte = 0;
  // read() returns 0 (EOF) once the server closes; the generous bound only
  // guards against a hang.
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  CHECK(read(fd, &byte, 1) == 0);
  close(fd);
  CHECK(eventually([&] { return (*server)->stats().open_connections == 0; }));
}

TEST_CASE("over the cap, a newcomer takes the place of the longest idle connection", "[http]") {
  ServerOptions options;
  options.max_connections = 4;
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  // Connected, silent: waiting for a request head. Before eviction, these four
  // locked every other client out until the read timeout.
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_raw((*server)->port()));
  REQUIRE(eventually([&] { return (*server)->stats().open_connections == 4; }));
  auto served = http_get((*server)->port(), "/healthz");
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK((*server)->stats().waiting_evicted == 1);
  CHECK((*server)->stats().rejected_over_capacity == 0);
  // The oldest was closed (EOF), the others are still open.
  timeval timeout{10, 0};
  setsockopt(idle[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char byte = 0;
  CHECK(read(idle[0], &byte, 1) == 0);
  CHECK(eventually([&] { return (*server)->stats().open_connections == 3; }));
  for (int fd : idle) close(fd);
}

TEST_CASE("over the cap, a kept-alive connection that was answered goes last", "[http]") {
  ServerOptions options;
  options.max_connections = 3;
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();
  timeval timeout{10, 0};
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto ask = [&](int fd) {
    if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      return std::string();
    }
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  };
  // The oldest connection, kept alive after an answer: the API server's kind.
  const int kept = connect_raw(port);
  setsockopt(kept, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(ask(kept).rfind("HTTP/1.1 200", 0) == 0);
  const int silent_a = connect_raw(port);
  const int silent_b = connect_raw(port);
  REQUIRE(eventually([&] { return (*server)->stats().open_connections == 3; }));

  auto served = http_get(port, "/healthz");
  REQUIRE(served);
  CHECK((*server)->stats().waiting_evicted == 1);
  // A silent newer one went, not the kept-alive one.
  CHECK(ask(kept).rfind("HTTP/1.1 200", 0) == 0);
  close(kept);
  close(silent_a);
  close(silent_b);
}

TEST_CASE("over the cap, a connection lingering after a refusal goes first", "[http]") {
  ServerOptions options;
  options.max_connections = 2;
  options.max_body_bytes = 1000;
  options.linger_timeout = std::chrono::seconds(60);
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();
  timeval timeout{10, 0};
  const int waiting = connect_raw(port);  // the oldest, silent
  const int refused = connect_raw(port);
  setsockopt(refused, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  REQUIRE(write(refused, head.data(), head.size()) == static_cast<ssize_t>(head.size()));
  std::string answer;
  char buffer[512];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = read(refused, buffer, sizeof buffer);
    REQUIRE(n > 0);
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  REQUIRE(answer.rfind("HTTP/1.1 413", 0) == 0);
  // Now lingering (the server waits for the body it will drop). A newcomer
  // takes its place, not the older silent one's.
  auto served = http_get(port, "/healthz");
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK((*server)->stats().waiting_evicted == 1);
  ssize_t last = 1;
  while (last > 0) last = read(refused, buffer, sizeof buffer);  // the rest of the 413, then EOF
  CHECK(last == 0);
  // The silent one is still there.
  CHECK(eventually([&] { return (*server)->stats().open_connections == 1; }));
  close(waiting);
  close(refused);
}

TEST_CASE("one client address holds at most its share of connections", "[http]") {
  weft::Registry registry;
  ServerOptions options;
  options.registry = &registry;
  options.max_connections_per_source = 2;
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  const auto port = (*server)->port();
  const int first = connect_raw(port, "127.0.0.2");
  const int second = connect_raw(port, "127.0.0.2");
  REQUIRE(eventually([&] { return (*server)->stats().open_connections == 2; }));
  const int third = connect_raw(port, "127.0.0.2");
  REQUIRE(third >= 0);
  timeval timeout{10, 0};
  setsockopt(third, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char byte = 0;
  CHECK(read(third, &byte, 1) <= 0);  // closed at once
  CHECK((*server)->stats().rejected_per_source == 1);
  CHECK(registry.expose().find("weft_http_connections_dropped_total{reason=\"source_cap\"} 1") !=
        std::string::npos);
  // Other addresses are not held back.
  auto served = http_get(port, "/healthz");
  REQUIRE(served);
  CHECK(served->status == 200);
  close(first);
  close(second);
  close(third);
  CHECK(eventually([&] { return (*server)->stats().open_connections == 0; }));
}

TEST_CASE("over the cap with every connection being answered, a newcomer is closed", "[http]") {
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};
  Routes routes = echo_routes();
  routes["/slow"] = [&](const Request&) {
    ++entered;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return Response{200, "done"};
  };
  ServerOptions options;
  options.max_connections = 2;
  options.threads = 3;
  auto server = Server::start(options, std::move(routes));
  REQUIRE(server);
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back([&] { (void)http_get((*server)->port(), "/slow"); });
  }
  REQUIRE(eventually([&] { return entered == 2; }));
  auto refused = http_get((*server)->port(), "/healthz");
  CHECK_FALSE(refused);
  CHECK((*server)->stats().rejected_over_capacity >= 1);
  CHECK((*server)->stats().waiting_evicted == 0);
  release = true;
  for (auto& t : slow) t.join();
  CHECK(eventually([&] { return (*server)->stats().open_connections == 0; }));
  auto served = http_get((*server)->port(), "/healthz");
  REQUIRE(served);
  CHECK(served->status == 200);
}

TEST_CASE("over the cap, a connection stalled within its request body is evicted", "[http]") {
  ServerOptions options;
  options.max_connections = 2;
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  std::vector<int> stalled;
  for (int i = 0; i < 2; ++i) {
    const int fd = connect_raw((*server)->port());
    const std::string partial = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab";
    REQUIRE(write(fd, partial.data(), partial.size()) == static_cast<ssize_t>(partial.size()));
    stalled.push_back(fd);
  }
  REQUIRE(eventually([&] { return (*server)->stats().open_connections == 2; }));
  auto served = http_get((*server)->port(), "/healthz");
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK((*server)->stats().waiting_evicted == 1);
  CHECK(eventually([&] { return (*server)->stats().body_bytes_in_flight < 2 * 4096; }));
  for (int fd : stalled) close(fd);
}

TEST_CASE("stop lets a request in flight finish and refuses new connections", "[http]") {
  std::atomic<bool> entered{false};
  Routes routes;
  routes["/slow"] = [&](const Request&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Response{200, "done"};
  };
  auto server = Server::start(ServerOptions{}, std::move(routes));
  REQUIRE(server);
  const auto port = (*server)->port();
  weft::Result<weft::test::HttpReply> slow = weft::Error{"not run"};
  std::thread client([&] { slow = http_get(port, "/slow"); });
  REQUIRE(eventually([&] { return entered.load(); }));
  (*server)->stop();
  client.join();
  REQUIRE(slow);
  CHECK(slow->body == "done");
  CHECK_FALSE(http_get(port, "/slow"));
  (*server)->stop();  // idempotent
}

TEST_CASE("connection metrics are registered under the prefix", "[http]") {
  weft::Registry registry;
  ServerOptions options;
  options.registry = &registry;
  options.metrics_prefix = "weft_test";
  auto server = Server::start(options, echo_routes());
  REQUIRE(server);
  REQUIRE(http_get((*server)->port(), "/healthz"));
  REQUIRE(eventually([&] { return (*server)->stats().open_connections == 0; }));
  const auto text = registry.expose();
  CHECK_THAT(text, Catch::Contains("weft_test_http_connections_total 1"));
  CHECK_THAT(text, Catch::Contains("weft_test_http_requests_total{code=\"200\"} 1"));
  CHECK_THAT(text, Catch::Contains("weft_test_http_connections_open 0"));
}

TEST_CASE("an asynchronous route answers later, without holding a server thread", "[http]") {
  // Answers held here until the test lets them go, from a thread of its own.
  std::mutex mutex;
  std::vector<weft::http::Respond> held;
  weft::http::AsyncRoutes async;
  async["/held"] = [&](Request request, weft::http::Respond respond) {
    std::lock_guard lock(mutex);
    held.push_back([respond, body = request.body](Response response) {
      response.body += " " + body;
      respond(std::move(response));
    });
  };
  async["/now"] = [](Request, weft::http::Respond respond) {
    respond(Response{429, "later", "text/plain", std::chrono::seconds(3)});
    respond(Response{200, "ignored: only the first answer counts"});
  };
  async["/throws"] = [](Request, weft::http::Respond) { throw std::runtime_error("boom"); };
  async["/healthz"] = [](Request, weft::http::Respond respond) { respond(Response{500, "no"}); };
  ServerOptions options;
  options.threads = 1;
  auto server = Server::start(options, echo_routes(), std::move(async));
  REQUIRE(server);
  const auto port = (*server)->port();

  // Three requests wait on one server thread at once...
  std::vector<weft::Result<weft::test::HttpReply>> replies(3, weft::Error{"not run"});
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] { replies[i] = http_post(port, "/held", std::to_string(i)); });
  }
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return held.size() == 3;
  }));
  // ...and the thread still answers the rest: sync routes (a sync route wins
  // over an async one of the same path), an immediate answer with Retry-After,
  // a throw.
  auto health = http_get(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto now = http_get(port, "/now");
  REQUIRE(now);
  CHECK(now->status == 429);
  CHECK(now->body == "later");
  CHECK(now->retry_after == "3");
  auto thrown = http_get(port, "/throws");
  REQUIRE(thrown);
  CHECK(thrown->status == 500);

  std::thread answerer([&] {
    std::lock_guard lock(mutex);
    for (auto& respond : held) respond(Response{201, "done"});
  });
  answerer.join();
  for (auto& client : clients) client.join();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(replies[i]);
    CHECK(replies[i]->status == 201);
    CHECK(replies[i]->body == "done " + std::to_string(i));
    CHECK(replies[i]->retry_after.empty());
  }
  (*server)->stop();
  held.clear();
}

TEST_CASE("an asynchronous answer given after the server stopped is dropped safely", "[http]") {
  std::mutex mutex;
  std::vector<weft::http::Respond> held;
  weft::http::AsyncRoutes async;
  async["/held"] = [&](Request, weft::http::Respond respond) {
    std::lock_guard lock(mutex);
    held.push_back(std::move(respond));
  };
  ServerOptions options;
  options.drain_timeout = std::chrono::milliseconds(200);
  auto server = Server::start(options, Routes{}, std::move(async));
  REQUIRE(server);
  const auto port = (*server)->port();
  weft::Result<weft::test::HttpReply> reply = weft::Error{"not run"};
  std::thread client([&] { reply = http_get(port, "/held"); });
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return held.size() == 1;
  }));
  (*server)->stop();
  client.join();
  CHECK_FALSE(reply);  // closed without an answer
  server->reset();     // the server object is gone; the answer still holds its internals
  held.front()(Response{200, "too late"});
  held.clear();
}
