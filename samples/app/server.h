#pragma once

// weft-sample-app's HTTP/1.1 server (Boost.Beast, keep-alive). It does not use
// lib/weft/http/Server, whose handlers run synchronously on its threads: here
// a request waits out its injected latency and its downstream calls without
// holding a thread, so two threads serve many slow requests at once.
//
// Each worker thread owns an io_context, its connections and its downstream
// clients; the acceptor hands connections to workers in turn. Shutdown is
// graceful: stop accepting, close idle connections, answer /readyz with 503,
// let requests in flight finish.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "samples/app/options.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::samples {

class SampleServer {
 public:
  // Binds and starts the worker threads; fails with a message naming the address.
  static Result<std::unique_ptr<SampleServer>> start(const AppOptions& options, Logger& logger);
  ~SampleServer();  // stops at once if finish_shutdown() was not called
  SampleServer(const SampleServer&) = delete;
  SampleServer& operator=(const SampleServer&) = delete;

  std::uint16_t port() const { return port_; }

  // Stops accepting and closes idle connections; requests in flight go on.
  // Thread-safe and idempotent.
  void begin_shutdown();
  // Waits until every connection has closed or grace has passed, then stops the
  // threads. Returns how many connections were still open (cut off).
  std::size_t finish_shutdown(std::chrono::milliseconds grace);

  struct Worker;

 private:
  SampleServer(const AppOptions& options, Logger& logger);
  void stop_threads();

  const AppOptions options_;
  Logger& logger_;
  std::uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  struct Acceptor;
  std::unique_ptr<Acceptor> acceptor_;
  bool stopped_ = false;

  friend struct Session;
};

}  // namespace weft::samples
