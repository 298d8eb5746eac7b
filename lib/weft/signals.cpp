#include "weft/signals.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace weft {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

// The signals stay blocked: a program stops after its wait, and a second
// SIGTERM sent while it drains (kubelet and tests do that) would otherwise be
// delivered as the mask is restored and kill it with the default action.
StopSignals::~StopSignals() = default;

int StopSignals::wait() const {
  int signal = 0;
  // sigwait fails only for an invalid set; retry on the impossible anyway.
  while (sigwait(&signals_, &signal) != 0) {
  }
  return signal;
}

std::optional<int> StopSignals::wait_for(std::chrono::milliseconds timeout) const {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec limit{static_cast<std::time_t>(seconds.count()),
                       static_cast<long>(std::chrono::nanoseconds(timeout - seconds).count())};
  while (true) {
    const int signal = sigtimedwait(&signals_, nullptr, &limit);
    if (signal >= 0) return signal;
    // EINTR: another signal's handler ran; the wait restarts with the full
    // timeout, which only lengthens a tick of the caller's loop.
    if (errno != EINTR) return std::nullopt;
  }
}

std::string_view signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "signal";
  }
}

}  // namespace weft
