// TokenReviews never hold the HTTP server's threads: with every review worker
// stuck on a slow API server and the queue full, the server still answers at
// once what needs no review, refuses a further review with 429, and /ready
// answers. (Before the review pool, two held reviews on the two server threads
// left every other request of the replica unanswered.) And one client address
// cannot make weft-identity review tokens or verify CSRs without limit.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "identity/service.h"
#include "identity/test_requests.h"
#include "identity/test_service.h"
#include "lib/http/http_test_client.h"
#include "weft/http/server.h"

using namespace weft;
using namespace weft::identity;
using testing::answer_of;
using testing::EchoSigner;
using testing::eventually;
using testing::GateReviewer;

namespace {

struct RawAnswer {
  std::string status_line;  // "" when nothing came back in time
  std::string head;
};

// One request on its own connection, waiting up to `timeout` for the answer's head.
RawAnswer raw_post(std::uint16_t port, const std::string& authorization, const std::string& body,
                   std::chrono::seconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval limit{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return {"connect failed", ""};
  }
  std::string request = "POST /v1/certificates HTTP/1.1\r\nHost: x\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body;
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[1024];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (answer.find("\r\n") == std::string::npos) return {};
  return {answer.substr(0, answer.find("\r\n")), answer.substr(0, answer.find("\r\n\r\n"))};
}

}  // namespace

TEST_CASE("with every review worker stuck, the replica answers at once all it can",
          "[identity][service]") {
  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  GateReviewer reviewer;
  reviewer.hold();
  // A timeout far beyond the test: the reviews stay stuck until released.
  IdentityService service{
      registry, logger, reviewer, IssuanceOptions{},
      ReviewPoolLimits{.workers = 2, .queue = 2, .timeout = std::chrono::seconds(600)}};
  service.publish(std::make_shared<EchoSigner>(), "");
  http::ServerOptions options;  // threads = 2, as weft-identity's default --threads
  auto server = http::Server::start(options, {}, service.certificate_routes());
  REQUIRE(server);
  auto metrics_server = http::Server::start(http::ServerOptions{}, service.metrics_routes());
  REQUIRE(metrics_server);
  const std::uint16_t port = (*server)->port();

  const std::string body = nlohmann::json{{"csr", testing::real_csr()}}.dump();
  const std::string bearer =
      "Bearer " + testing::token_for("shop", "web", std::chrono::system_clock::now());
  // Two reviews hold both workers, two more fill the queue: more than the
  // server has threads.
  std::vector<RawAnswer> held(4);
  std::vector<std::thread> clients;
  // A failed REQUIRE still lets the reviews go and the clients end.
  struct Cleanup {
    GateReviewer& reviewer;
    std::vector<std::thread>& clients;
    ~Cleanup() {
      reviewer.release();
      for (auto& client : clients) {
        if (client.joinable()) client.join();
      }
    }
  } cleanup{reviewer, clients};
  for (std::size_t i = 0; i < held.size(); ++i) {
    clients.emplace_back(
        [&, i] { held[i] = raw_post(port, bearer, body, std::chrono::seconds(60)); });
  }
  REQUIRE(reviewer.wait_for_waiting(2));
  REQUIRE(eventually([&] {
    auto metrics = weft::test::http_get((*metrics_server)->port(), "/metrics");
    return metrics &&
           metrics->body.find("weft_identity_token_reviews_queued 2") != std::string::npos;
  }));

  // Answered at once (the old code gave nothing back while the reviews
  // lasted): a request refused without a review...
  CHECK(raw_post(port, "", body, std::chrono::seconds(10)).status_line ==
        "HTTP/1.1 401 Unauthorized");
  // ...a further review, refused with the documented 429 and Retry-After...
  const auto refused = raw_post(port, bearer, body, std::chrono::seconds(10));
  CHECK(refused.status_line == "HTTP/1.1 429 Too Many Requests");
  CHECK_THAT(refused.head, Catch::Contains("Retry-After: 1"));
  // ...and readiness.
  auto ready = weft::test::http_get((*metrics_server)->port(), "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(reviewer.started() == 2);

  reviewer.release();
  for (auto& client : clients) client.join();
  for (const auto& answer : held) CHECK(answer.status_line == "HTTP/1.1 200 OK");
  (*server)->stop();
  (*metrics_server)->stop();
}

TEST_CASE("one address cannot make weft-identity review tokens or verify CSRs without limit",
          "[identity][service]") {
  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  GateReviewer reviewer;
  IdentityService service{registry,          logger, reviewer,
                          IssuanceOptions{}, {},     SourceLimits{.qps = 2, .burst = 20}};
  service.publish(std::make_shared<EchoSigner>(), "");
  http::Request request;
  request.method = "POST";
  request.path = std::string(kCertificatesPath);
  request.peer = "10.0.0.66";
  request.body = nlohmann::json{{"csr", testing::real_csr()}}.dump();
  const auto now = std::chrono::system_clock::now();
  request.authorization = "Bearer " + testing::token_for("attacker", "sa", now);

  constexpr int kRequests = 200;
  const auto started = std::chrono::steady_clock::now();
  int issued = 0;
  int limited = 0;
  for (int i = 0; i < kRequests; ++i) {
    const int status = answer_of(service, request).status;
    issued += status == 200;
    limited += status == 429;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The burst, and what the rate refilled meanwhile; every other one refused.
  CHECK(issued >= 20);
  CHECK(issued <= 20 + static_cast<int>(2 * seconds) + 1);
  CHECK(issued + limited == kRequests);
  CHECK(reviewer.started() == issued);

  // Over its budget, its CSR is not even verified: garbage is refused as
  // too_many_from_source, not as bad_csr.
  request.body =
      nlohmann::json{
          {"csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}}
          .dump();
  CHECK(answer_of(service, request).status == 429);
  // A token that cannot be for weft-identity is refused from its claims,
  // before the budget, the CSR and the API server.
  request.authorization = "Bearer " + testing::jwt({{"aud", {"someone-else"}},
                                                    {"exp", testing::unix_seconds(now) + 3600},
                                                    {"sub", "system:serviceaccount:attacker:sa"}});
  CHECK(answer_of(service, request).status == 401);
  const std::string metrics = service.metrics_routes()["/metrics"](http::Request{}).body;
  CHECK_THAT(metrics, Catch::Contains("weft_identity_refusals_total{reason=\"wrong_audience\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("weft_identity_refusals_total{reason=\"bad_csr\"} 0"));
  CHECK_THAT(metrics,
             Catch::Contains("weft_identity_refusals_total{reason=\"too_many_from_source\"} " +
                             std::to_string(limited + 1)));
  CHECK(reviewer.started() == issued);
}
