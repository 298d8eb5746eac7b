#pragma once

// Waiting for SIGTERM or SIGINT, the way every Weft program stops: the signals
// are blocked before any thread starts (threads inherit the mask, so none of
// them is interrupted), and main waits for one synchronously with sigwait.
//
//   int main() {
//     weft::StopSignals stop;        // first, before any thread
//     ... start servers ...
//     const int signal = stop.wait();
//     log.info("stopping", {{"signal", weft::signal_name(signal)}});

#include <chrono>
#include <csignal>
#include <optional>
#include <string_view>

namespace weft {

class StopSignals {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread.
  StopSignals();
  // Leaves the signals blocked, so a second SIGTERM that arrives during the
  // drain after wait() is not delivered with its default action (exit 143).
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits for SIGTERM or SIGINT and returns its number.
  int wait() const;
  // Waits at most `timeout` (for a main loop that also watches something
  // else); nullopt when none came.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) const;

 private:
  sigset_t signals_;
};

// "SIGTERM", "SIGINT", or "signal" for any other.
std::string_view signal_name(int signal);

}  // namespace weft
