#include "weftctl/check/wait.h"

#include <algorithm>

namespace weft::ctl::check {

CheckResults check_until_healthy(const std::function<CheckResults()>& attempt, const WaitPlan& plan,
                                 const SteadyClock& clock, const Sleep& sleep) {
  const auto start = clock();
  while (true) {
    CheckResults results = attempt();
    if (healthy(results) || !plan.timeout) return results;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(start + *plan.timeout - clock());
    if (left <= std::chrono::milliseconds::zero()) return results;
    sleep(std::min(plan.interval, left));
  }
}

}  // namespace weft::ctl::check
