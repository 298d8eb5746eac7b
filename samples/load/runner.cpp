#include "samples/load/runner.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <optional>

#include "samples/common/asio.h"
#include "samples/load/responder.h"
#include "samples/load/schedule.h"

namespace weft::samples {

namespace {

using Clock = std::chrono::steady_clock;
// A sender waiting for its due time looks at the stop flag at least this often.
constexpr auto kStopCheckInterval = std::chrono::milliseconds(100);

}  // namespace

struct LoadRunner::Impl {
  Impl(const LoadOptions& options, LoadMetrics* metrics, Tally& tally)
      : options(options), metrics(metrics), tally(tally) {
    for (const auto& target : options.targets) {
      clients.push_back(std::make_unique<HttpClient>(
          ioc.get_executor(), target, static_cast<std::size_t>(options.concurrency)));
    }
  }

  awaitable<void> sender() {
    asio::steady_timer timer(ioc);
    error_code ec;
    while (!stopping) {
      const std::uint64_t index = next_index++;
      if (options.requests && index >= *options.requests) break;
      const Clock::time_point due = due_time(start, index, options.rate);
      if (end && std::max(due, Clock::now()) >= *end) break;
      while (!stopping && Clock::now() < due) {
        timer.expires_at(std::min(due, Clock::now() + kStopCheckInterval));
        co_await timer.async_wait(redirect(ec));
      }
      if (stopping) break;
      HttpClient& client = *clients[index % clients.size()];
      const CallResult result = co_await client.get(options.timeout, options.headers);
      Responder responder;
      if (result.status) responder = find_responder(result.body, options.version_of);
      tally.record(result, responder);
      if (metrics) {
        metrics->record(outcome_label(result), responder,
                        std::chrono::duration<double, std::milli>(result.latency).count());
      }
    }
    if (--senders_running == 0 && signals) signals->cancel();
  }

  const LoadOptions& options;
  LoadMetrics* metrics;
  Tally& tally;
  asio::io_context ioc{1};
  std::vector<std::unique_ptr<HttpClient>> clients;  // after ioc: destroyed while it lives
  std::optional<asio::signal_set> signals;
  Clock::time_point start;
  std::optional<Clock::time_point> end;
  std::uint64_t next_index = 0;
  int senders_running = 0;
  bool stopping = false;  // the run thread only; stop() posts
};

LoadRunner::LoadRunner(const LoadOptions& options, LoadMetrics* metrics)
    : impl_(std::make_unique<Impl>(options, metrics, tally_)) {}

LoadRunner::~LoadRunner() = default;

void LoadRunner::run(bool stop_on_signals) {
  Impl& impl = *impl_;
  impl.start = Clock::now();
  if (impl.options.duration && impl.options.duration->count() > 0) {
    impl.end = impl.start + *impl.options.duration;
  }
  if (stop_on_signals) {
    impl.signals.emplace(impl.ioc, SIGTERM, SIGINT);
    impl.signals->async_wait([&impl](const error_code& ec, int) {
      if (!ec) impl.stopping = true;
    });
  }
  impl.senders_running = impl.options.concurrency;
  for (int i = 0; i < impl.options.concurrency; ++i) {
    asio::co_spawn(impl.ioc, impl.sender(), asio::detached);
  }
  impl.ioc.run();
  elapsed_ = Clock::now() - impl.start;
}

void LoadRunner::stop() {
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->stopping = true; });
}

}  // namespace weft::samples
