#pragma once

// Runs weft-load's requests on the calling thread: `concurrency` coroutines
// take request numbers in order, wait until each is due (schedule.h), send it
// to the next target, and count the outcome.

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "samples/load/load_metrics.h"
#include "samples/load/options.h"
#include "samples/load/tally.h"

namespace weft::samples {

class LoadRunner {
 public:
  // metrics may be null.
  LoadRunner(const LoadOptions& options, LoadMetrics* metrics);
  ~LoadRunner();

  // Blocks until the requests or the duration are done, or stop() (or, with
  // stop_on_signals, SIGTERM/SIGINT) ends it; requests in flight then finish.
  void run(bool stop_on_signals);
  // Thread-safe.
  void stop();

  const Tally& tally() const { return tally_; }
  std::chrono::duration<double> elapsed() const { return elapsed_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Tally tally_;
  std::chrono::duration<double> elapsed_{0};
};

}  // namespace weft::samples
