#include "proxy/layers/stack.h"

#include <catch2/catch.hpp>
#include <deque>
#include <vector>

#include "proxy/config/snapshot.h"
#include "test/unit/proxy/test_documents.h"

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {

// One scripted try: how it ends, and what the codec saw.
struct ScriptedTry {
  TryFailure failure = TryFailure::kNone;
  int status = 200;
  bool reused = false;                        // it went out on a pooled connection
  bool starts_body = false;                   // it sent part of a streamed body
  bool body_done = true;                      // the client's body had all arrived
  bool response_started = false;              // some response byte came before the failure
  std::optional<grpc::Status> grpc_status{};  // a trailers-only gRPC response's
  bool body_copied = false;                   // it streamed the whole body and kept a copy
  std::chrono::milliseconds takes{0};
};

// A codec's client side that plays a script instead of writing bytes.
class FakeUpstream {
 public:
  explicit FakeUpstream(asio::io_context& io, std::vector<ScriptedTry> script)
      : io_(io), script_(script.begin(), script.end()) {}

  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts&, bool replayable, bool& body_started) {
    identities.emplace_back(identity);
    REQUIRE(!script_.empty());
    current_ = script_.front();
    script_.pop_front();
    addresses.push_back(address);
    replayable_seen.push_back(replayable);
    if (current_.takes.count() > 0) {
      Timer timer(io_.get_executor());
      timer.expires_after(current_.takes);
      error_code ignored;
      co_await timer.async_wait(redirect(ignored));
    }
    if (current_.starts_body) body_started = true;
    co_return current_.failure;
  }
  int response_status() const { return current_.status; }
  bool connection_reused() const { return current_.reused; }
  bool request_body_done() const { return current_.body_done; }
  void drop_connection() { ++dropped; }
  bool response_started() const { return current_.response_started; }
  std::optional<grpc::Status> response_grpc_status() const { return current_.grpc_status; }
  bool body_replayable() const { return current_.body_copied; }
  void next_try_on_new_connection() {
    ++dropped;
    ++new_connections;
  }
  int new_connections = 0;

  std::vector<tcp::endpoint> addresses;
  std::vector<std::string> identities;  // what each try had to prove
  std::vector<bool> replayable_seen;
  int dropped = 0;
  std::size_t left() const { return script_.size(); }

 private:
  asio::io_context& io_;
  std::deque<ScriptedTry> script_;
  ScriptedTry current_;
};
static_assert(Upstream<FakeUpstream>);

tcp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

// A routed request: a rule (with `retry` when given) to a backend of two endpoints.
struct Routed {
  explicit Routed(std::optional<proxyconfig::Retry> retry = std::nullopt,
                  std::optional<std::chrono::milliseconds> request_timeout = std::nullopt) {
    rule.retry = std::move(retry);
    rule.request_timeout = request_timeout;
    plan.rule = &rule;
    plan.backend = &backend;
    plan.balancer = std::make_shared<Balancer>(
        proxyconfig::LoadBalancerAlgorithm::kRoundRobin, std::nullopt,
        std::vector{std::make_shared<EndpointState>(at("10.0.0.1", 80)),
                    std::make_shared<EndpointState>(at("10.0.0.2", 80))});
    if (rule.retry) plan.budget = std::make_shared<RetryBudget>(rule.retry->budget);
  }
  proxyconfig::Rule rule;
  ServiceTarget backend;
  Plan plan;
};

proxyconfig::Retry retry_503(std::uint32_t attempts, std::chrono::milliseconds backoff = 0ms) {
  proxyconfig::Retry retry;
  retry.attempts = attempts;
  retry.codes = {503};
  retry.conditions = {proxyconfig::RetryCondition::kConnectFailure};
  retry.backoff = backoff;
  return retry;
}

struct Run {
  Forwarded forwarded;
  std::uint64_t retries = 0;
  std::uint64_t budget_exhausted = 0;
  Clock::duration took{};
};

Run run(FakeUpstream& upstream, asio::io_context& io, const Plan& plan, bool replayable = true,
        tcp::endpoint destination = at("10.9.9.9", 8080)) {
  std::mt19937_64 random(7);
  const auto started = Clock::now();
  if (plan.budget) plan.budget->on_request(started);
  const RequestTimeouts timeouts = request_timeouts(plan.rule, started);
  Run out;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        out.forwarded = co_await forward(upstream, {.plan = plan,
                                                    .timeouts = timeouts,
                                                    .destination = destination,
                                                    .random = random,
                                                    .executor = io.get_executor(),
                                                    .started = started,
                                                    .replayable = replayable});
      },
      asio::detached);
  io.run();
  io.restart();
  out.took = Clock::now() - started;
  out.retries = out.forwarded.retries;
  out.budget_exhausted = out.forwarded.budget_exhausted;
  return out;
}

}  // namespace

TEST_CASE("stack: a request without a backend goes to its destination, once", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.status = 503}});
  Plan plan;  // unrouted: no rule, no backend
  const Run result = run(upstream, io, plan);
  REQUIRE(upstream.addresses.size() == 1);
  CHECK(upstream.addresses[0] == at("10.9.9.9", 8080));
  CHECK(result.forwarded.address == at("10.9.9.9", 8080));
  CHECK(result.forwarded.result.status == 503);  // no policy: a 503 stands
  CHECK(result.retries == 0);
}

TEST_CASE("stack: each try expects the identity its plan's snapshot gives the endpoint",
          "[stack][mtls]") {
  auto document = testing::with_other_namespace();  // api.pay at 10.96.5.5:80, meshed
  auto& endpoints = document.outbound.services[0].ports[0].endpoints;
  endpoints[0].port = 80;
  endpoints[0].identity = "spiffe://cluster.local/ns/shop/sa/web";
  endpoints[1].port = 80;  // plain
  const std::string text = testing::text_of(document);
  auto parsed = proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(*parsed), text);
  REQUIRE(snapshot.has_value());

  asio::io_context io;
  FakeUpstream routed_upstream(io, {{.status = 503}, {.status = 200}});
  Routed routed(retry_503(2));
  routed.plan.snapshot = *snapshot;
  const Run result = run(routed_upstream, io, routed.plan);
  REQUIRE(routed_upstream.addresses.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const bool meshed = routed_upstream.addresses[i] == at("10.0.0.1", 80);
    CHECK(routed_upstream.identities[i] == (meshed ? "spiffe://cluster.local/ns/shop/sa/web" : ""));
  }
  CHECK(result.forwarded.identity == routed_upstream.identities[1]);

  // Unrouted, to another namespace's meshed Service.
  FakeUpstream direct(io, {{.status = 200}});
  Plan plan;
  plan.snapshot = *snapshot;
  const Run to_api = run(direct, io, plan, true, at("10.96.5.5", 80));
  CHECK(direct.identities == std::vector<std::string>{"spiffe://cluster.local/ns/pay/sa/api"});
  CHECK(to_api.forwarded.identity == "spiffe://cluster.local/ns/pay/sa/api");
}

TEST_CASE("stack: a retryable answer is tried again on another endpoint", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.status = 503}, {.status = 200}});
  Routed routed(retry_503(2));
  const Run result = run(upstream, io, routed.plan);
  REQUIRE(upstream.addresses.size() == 2);
  CHECK(upstream.addresses[0] != upstream.addresses[1]);  // round robin moved on
  // What labels the request's metrics: the last try's endpoint.
  CHECK(result.forwarded.address == upstream.addresses[1]);
  CHECK(result.forwarded.result.failure == TryFailure::kNone);
  CHECK(result.forwarded.result.status == 200);
  CHECK(result.retries == 1);
  CHECK(upstream.dropped == 1);  // the 503's connection was not kept
  // The balancer heard of both tries: nothing is left in flight.
  CHECK(routed.plan.balancer->endpoints()[0]->in_flight == 0);
  CHECK(routed.plan.balancer->endpoints()[1]->in_flight == 0);
}

TEST_CASE("stack: attempts bound the retries; the last answer stands", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.status = 503}, {.status = 503}, {.status = 503}, {.status = 200}});
  Routed routed(retry_503(2));
  const Run result = run(upstream, io, routed.plan);
  CHECK(upstream.addresses.size() == 3);
  CHECK(result.forwarded.result.status == 503);
  CHECK(result.retries == 2);
  CHECK(upstream.left() == 1);
}

TEST_CASE("stack: a pooled connection closed by the server is retried once, outside the policy",
          "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.failure = TryFailure::kReset, .reused = true},
                             {.failure = TryFailure::kReset, .reused = true},
                             {.status = 200}});
  Plan plan;  // no retry policy at all
  const Run result = run(upstream, io, plan);
  // Once on a new connection; the second stale reset stands (no policy).
  CHECK(upstream.addresses.size() == 2);
  CHECK(upstream.new_connections == 1);  // the retry skips the pool
  CHECK(result.forwarded.result.failure == TryFailure::kReset);
  CHECK(result.retries == 0);
}

TEST_CASE("stack: a reused connection that broke after response bytes is not retried", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(
      io,
      {{.failure = TryFailure::kReset, .reused = true, .response_started = true}, {.status = 200}});
  Plan plan;
  const Run result = run(upstream, io, plan);
  CHECK(upstream.addresses.size() == 1);  // the server may have acted on it
  CHECK(upstream.new_connections == 0);
  CHECK(result.forwarded.result.failure == TryFailure::kReset);
}

TEST_CASE("stack: a streamed body that started is never sent again", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.failure = TryFailure::kConnect}, {.status = 200}});
  Routed routed(retry_503(2));
  // A connect failure comes before any body byte: retried even for a
  // request that cannot be replayed...
  const Run connect = run(upstream, io, routed.plan, /*replayable=*/false);
  CHECK(upstream.addresses.size() == 2);
  CHECK(connect.forwarded.result.status == 200);

  FakeUpstream streamed(io, {{.status = 503, .starts_body = true}, {.status = 200}});
  const Run result = run(streamed, io, routed.plan, /*replayable=*/false);
  CHECK(streamed.addresses.size() == 1);  // ... a 503 after the body began is final
  CHECK(result.forwarded.result.status == 503);
  CHECK(result.retries == 0);
}

TEST_CASE("stack: the client's own failures end the request at once", "[stack]") {
  asio::io_context io;
  Routed routed(retry_503(3));
  for (const TryFailure failure : {TryFailure::kClientGone, TryFailure::kBadRequestBody}) {
    FakeUpstream upstream(io, {{.failure = failure}, {.status = 200}});
    const Run result = run(upstream, io, routed.plan);
    CHECK(upstream.addresses.size() == 1);
    CHECK(result.forwarded.result.failure == failure);
    CHECK(result.retries == 0);
  }
}

TEST_CASE("stack: a backend without endpoints is answered without a try", "[stack]") {
  asio::io_context io;
  FakeUpstream upstream(io, {{.status = 200}});
  Routed routed;
  routed.plan.balancer =
      std::make_shared<Balancer>(proxyconfig::LoadBalancerAlgorithm::kRoundRobin, std::nullopt,
                                 std::vector<std::shared_ptr<EndpointState>>{});
  const Run result = run(upstream, io, routed.plan);
  CHECK(result.forwarded.no_endpoint);
  CHECK(upstream.addresses.empty());
  CHECK(result.forwarded.address == at("10.9.9.9", 8080));  // no endpoint: the destination
}

TEST_CASE("stack: the request's deadline cuts the backoff and ends as a timeout", "[stack]") {
  asio::io_context io;
  // A backoff of up to a minute (the seeded draw lands far beyond the
  // deadline), 150 ms of deadline: the retry never starts, and the answer (a
  // timeout) comes at the deadline, not after the backoff.
  FakeUpstream upstream(io, {{.status = 503}, {.status = 200}});
  Routed routed(retry_503(2, 60'000ms), 150ms);
  const Run result = run(upstream, io, routed.plan);
  CHECK(upstream.addresses.size() == 1);
  CHECK(result.forwarded.result.failure == TryFailure::kTimeout);
  CHECK(result.retries == 0);
  CHECK(result.took >= 150ms);
  CHECK(result.took < 2'000ms);
}

TEST_CASE("stack: a trailers-only gRPC failure the policy lists is tried again", "[stack][grpc]") {
  asio::io_context io;
  proxyconfig::Retry retry = retry_503(2);
  retry.grpc_codes = {static_cast<std::uint8_t>(grpc::Status::kUnavailable)};
  FakeUpstream upstream(io, {{.status = 200, .grpc_status = grpc::Status::kUnavailable},
                             {.status = 200, .grpc_status = grpc::Status::kOk}});
  Routed routed(retry);
  const Run result = run(upstream, io, routed.plan);
  REQUIRE(upstream.addresses.size() == 2);
  CHECK(upstream.addresses[0] != upstream.addresses[1]);
  CHECK(result.retries == 1);
  CHECK(result.forwarded.result.status == 200);
  CHECK(result.forwarded.result.grpc_status == grpc::Status::kOk);

  // A status the policy does not list stands, and is what the request reports.
  FakeUpstream internal(io, {{.status = 200, .grpc_status = grpc::Status::kInternal},
                             {.status = 200, .grpc_status = grpc::Status::kOk}});
  const Run stands = run(internal, io, routed.plan);
  CHECK(internal.addresses.size() == 1);
  CHECK(stands.retries == 0);
  CHECK(stands.forwarded.result.grpc_status == grpc::Status::kInternal);
}

TEST_CASE("stack: a failed try carries no gRPC status, whatever the codec last saw",
          "[stack][grpc]") {
  asio::io_context io;
  FakeUpstream upstream(
      io, {{.failure = TryFailure::kBadResponse, .grpc_status = grpc::Status::kUnavailable}});
  Plan plan;
  const Run result = run(upstream, io, plan);
  CHECK(result.forwarded.result.failure == TryFailure::kBadResponse);
  CHECK_FALSE(result.forwarded.result.grpc_status);
}

TEST_CASE("stack: a streamed body the codec copied whole is sent again on a retry",
          "[stack][grpc]") {
  asio::io_context io;
  proxyconfig::Retry retry = retry_503(2);
  retry.grpc_codes = {static_cast<std::uint8_t>(grpc::Status::kUnavailable)};
  Routed routed(retry);
  // A gRPC call has no content-length: not replayable when it began, but
  // once its first try sent the whole body and kept it, it is.
  FakeUpstream copied(io, {{.status = 200,
                            .starts_body = true,
                            .grpc_status = grpc::Status::kUnavailable,
                            .body_copied = true},
                           {.status = 200, .grpc_status = grpc::Status::kOk}});
  const Run result = run(copied, io, routed.plan, /*replayable=*/false);
  REQUIRE(copied.addresses.size() == 2);
  CHECK(copied.replayable_seen == std::vector<bool>{false, true});  // the retry sends the copy
  CHECK(result.forwarded.result.grpc_status == grpc::Status::kOk);
  CHECK(result.retries == 1);

  // Without a whole copy (a body past the limit, or still streaming), the
  // failure stands.
  FakeUpstream streamed(
      io, {{.status = 200, .starts_body = true, .grpc_status = grpc::Status::kUnavailable},
           {.status = 200, .grpc_status = grpc::Status::kOk}});
  const Run stands = run(streamed, io, routed.plan, /*replayable=*/false);
  CHECK(streamed.addresses.size() == 1);
  CHECK(stands.forwarded.result.grpc_status == grpc::Status::kUnavailable);
}
