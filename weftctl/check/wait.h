#pragma once

// `weftctl check --wait`: check again until healthy or the time is up. The
// clock and the sleep are given, so tests run it without waiting.

#include <chrono>
#include <functional>
#include <optional>

#include "weftctl/check/check_result.h"

namespace weft::ctl::check {

struct WaitPlan {
  std::optional<std::chrono::milliseconds> timeout;  // none: check once
  std::chrono::milliseconds interval{std::chrono::seconds(2)};
};

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;
using Sleep = std::function<void(std::chrono::milliseconds)>;

// The results of the first healthy attempt, or of the last one when the
// timeout passed (or at once without one). An attempt is never cut short;
// the last sleep is shortened to end at the deadline.
CheckResults check_until_healthy(const std::function<CheckResults()>& attempt, const WaitPlan& plan,
                                 const SteadyClock& clock, const Sleep& sleep);

}  // namespace weft::ctl::check
