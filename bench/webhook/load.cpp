// Load generator for weft-webhook's /mutate: N concurrent keep-alive TLS
// connections each sending AdmissionReviews back to back for a fixed time;
// prints reviews/s and latency percentiles. Bounded in time and connections,
// loopback only.
//
//   webhook_load --port P --ca CA.pem --review REVIEW.json [--connections 64]
//                [--seconds 10] [--warmup 2] [--threads 1] [--rate R] [--server-pid PID]
//
// Without --rate each connection sends its next review as soon as the answer
// arrives (closed loop: the maximum rate). With --rate R the connections together
// send R reviews/s on a fixed schedule (open loop) and latency is measured from
// the scheduled time, so a server that falls behind shows it. --server-pid adds
// the server's CPU time per review (from /proc), which a busy machine skews less.

#include <unistd.h>

// clang-format off
#include <utility>  // first: Boost.Asio 1.74 uses std::exchange without including it
// clang-format on
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "weft/file.h"
#include "weft/flags.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace flags = weft::flags;

namespace {

struct Shared {
  std::string body;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> non_200{0};
  std::mutex mutex;
  std::vector<double> latencies_us;  // measured window only
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, ssl::context& tls, Shared& shared, std::uint16_t port,
             Clock::duration interval, Clock::duration offset)
      : stream_(asio::make_strand(ioc), tls),
        timer_(stream_.get_executor()),
        shared_(shared),
        port_(port),
        interval_(interval),
        next_(Clock::now() + offset) {}

  void start() {
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    beast::get_lowest_layer(stream_).async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
        [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail();
          beast::error_code ignored;
          beast::get_lowest_layer(self->stream_).socket().set_option(tcp::no_delay(true), ignored);
          self->stream_.async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
            if (ec) return self->fail();
            self->skip_missed_slots();
            self->schedule();
          });
        });
  }

 private:
  // The handshakes of all connections take a while: slots that passed meanwhile
  // are skipped, keeping this connection's phase. (Starting them all "now"
  // instead bunched the connections into bursts that arrive together every
  // interval, which is not the evenly spread rate asked for.)
  void skip_missed_slots() {
    const auto now = Clock::now();
    if (interval_ == Clock::duration::zero() || next_ >= now) return;
    next_ += (now - next_ + interval_ - Clock::duration(1)) / interval_ * interval_;
  }

  // Closed loop: now. Open loop: at the next slot of the schedule.
  void schedule() {
    if (shared_.stopping.load()) return;
    if (interval_ == Clock::duration::zero() || next_ <= Clock::now()) return send();
    timer_.expires_at(next_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->send();
    });
  }

  void send() {
    if (shared_.stopping.load()) return;
    request_ = {bhttp::verb::post, "/mutate", 11};
    request_.set(bhttp::field::host, "localhost");
    request_.set(bhttp::field::content_type, "application/json");
    request_.keep_alive(true);
    request_.body() = shared_.body;
    request_.prepare_payload();
    started_ = interval_ == Clock::duration::zero() ? Clock::now() : next_;
    next_ += interval_;
    bhttp::async_write(stream_, request_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->fail();
                         self->response_ = {};
                         bhttp::async_read(self->stream_, self->buffer_, self->response_,
                                           [self](beast::error_code ec, std::size_t) {
                                             if (ec) return self->fail();
                                             self->done();
                                           });
                       });
  }

  void done() {
    const std::chrono::duration<double, std::micro> took = Clock::now() - started_;
    if (response_.result_int() != 200) shared_.non_200.fetch_add(1);
    if (shared_.measuring.load()) {
      std::lock_guard lock(shared_.mutex);
      shared_.latencies_us.push_back(took.count());
    }
    schedule();
  }

  void fail() {
    if (!shared_.stopping.load()) shared_.errors.fetch_add(1);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  asio::steady_timer timer_;
  Shared& shared_;
  std::uint16_t port_;
  Clock::duration interval_;
  Clock::time_point next_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response<bhttp::string_body> response_;
  beast::flat_buffer buffer_;
  Clock::time_point started_;
};

// utime + stime of a process, in seconds; 0 if unreadable.
double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14 || index == 15) ticks += std::stod(field);
    if (index == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

struct Options {
  int port = 0;
  std::string ca_file, review_file;
  int connections = 64, seconds = 10, warmup = 2, threads = 1, server_pid = 0;
  double rate = 0;
};

const flags::Program<Options>& program() {
  using O = Options;
  static const flags::Program<O> table{
      .usage = "Usage: webhook_load --port P --ca CA.pem --review REVIEW.json [flags]",
      .about =
          "Sends AdmissionReviews to weft-webhook's /mutate on 127.0.0.1 over keep-alive\n"
          "TLS connections; prints reviews/s and latency percentiles.",
      .flags =
          {
              flags::integer("port", &O::port, 1, 65535, "the webhook's port (required)")
                  .value_name("PORT")
                  .shown_default(""),
              flags::text("ca", &O::ca_file, "CA certificate to verify the webhook (required)",
                          flags::TextRule::kNonEmpty)
                  .value_name("FILE"),
              flags::text("review", &O::review_file, "AdmissionReview JSON to send (required)",
                          flags::TextRule::kNonEmpty)
                  .value_name("FILE"),
              flags::integer("connections", &O::connections, 1, 1024, "concurrent connections"),
              flags::integer("seconds", &O::seconds, 1, 120, "measured time").value_name("S"),
              flags::integer("warmup", &O::warmup, 0, 30, "unmeasured time before it")
                  .value_name("S"),
              flags::integer("threads", &O::threads, 1, 8, "client threads").value_name("T"),
              flags::number("rate", &O::rate, 0, 200000,
                            "reviews/s in all, on a fixed schedule (0: as fast as answered)")
                  .value_name("R"),
              flags::integer("server-pid", &O::server_pid, 0, std::numeric_limits<int>::max(),
                             "add the server's CPU time per review (0: not measured)")
                  .value_name("PID"),
          },
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = flags::parse(program(), {argv + 1, argv + argc});
  if (!parsed) {
    std::cerr << "webhook_load: " << parsed.error().message << " (see --help)\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << flags::usage(program());
    return 0;
  }
  const Options& options = parsed->options;
  if (options.port == 0 || options.ca_file.empty() || options.review_file.empty()) {
    std::cerr << "webhook_load: --port, --ca and --review are required (see --help)\n";
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(options.port);
  const int connections = options.connections, seconds = options.seconds;
  const int server_pid = options.server_pid;
  const double rate = options.rate;
  Shared shared;
  auto body = weft::read_file(options.review_file);
  if (!body) {
    std::cerr << "webhook_load: --review: " << body.error().message << "\n";
    return 2;
  }
  shared.body = std::move(*body);

  ssl::context tls(ssl::context::tls_client);
  auto ca = weft::read_file(options.ca_file);
  beast::error_code ca_error;
  if (ca) tls.add_certificate_authority(asio::buffer(*ca), ca_error);
  if (!ca || ca_error) {
    std::cerr << "webhook_load: --ca: "
              << (ca ? options.ca_file + ": no PEM certificate" : ca.error().message) << "\n";
    return 2;
  }
  tls.set_verify_mode(ssl::verify_peer);
  asio::io_context ioc;
  std::vector<std::shared_ptr<Connection>> clients;
  const auto interval = rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(connections / rate))
                                 : Clock::duration::zero();
  for (int i = 0; i < connections; ++i) {
    clients.push_back(
        std::make_shared<Connection>(ioc, tls, shared, port, interval, interval * i / connections));
    clients.back()->start();
  }
  std::vector<std::thread> workers;
  for (int i = 0; i < options.threads; ++i) workers.emplace_back([&] { ioc.run(); });
  std::this_thread::sleep_for(std::chrono::seconds(options.warmup));
  shared.measuring = true;
  const double cpu_before = cpu_seconds(server_pid);
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  shared.measuring = false;
  const std::chrono::duration<double> elapsed = Clock::now() - start;
  const double server_cpu = cpu_seconds(server_pid) - cpu_before;
  shared.stopping = true;
  ioc.stop();
  for (auto& worker : workers) worker.join();

  auto latencies = std::move(shared.latencies_us);
  std::sort(latencies.begin(), latencies.end());
  const double achieved = static_cast<double>(latencies.size()) / elapsed.count();
  std::cout << "connections=" << connections << " seconds=" << seconds
            << " offered=" << (rate > 0 ? std::to_string(static_cast<long>(rate)) : "max")
            << " reviews=" << latencies.size() << " reviews_per_s=" << static_cast<long>(achieved)
            << " p50_ms=" << percentile(latencies, 0.50) / 1000
            << " p99_ms=" << percentile(latencies, 0.99) / 1000
            << " max_ms=" << (latencies.empty() ? 0 : latencies.back() / 1000)
            << " server_cpu_us_per_review="
            << (server_pid > 0 && !latencies.empty()
                    ? server_cpu * 1e6 / static_cast<double>(latencies.size())
                    : 0)
            << " errors=" << shared.errors.load() << " non_200=" << shared.non_200.load() << "\n";
  return shared.errors.load() == 0 && shared.non_200.load() == 0 ? 0 : 1;
}
