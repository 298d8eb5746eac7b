#include "proxy/routing/failure_accrual.h"

#include <algorithm>

namespace weft::proxy {

bool FailureAccrual::on_failure(Clock::time_point now,
                                const std::optional<proxyconfig::CircuitBreaker>& policy) {
  if (!policy) return false;  // no circuit breaker: never eject
  ++consecutive_failures_;
  if (consecutive_failures_ < policy->consecutive_failures) return false;
  consecutive_failures_ = 0;
  // ejection_time * 2^ejections, capped; the shift is bounded to avoid overflow.
  const auto shift = std::min<std::uint32_t>(ejections_, 20);
  const auto doubled = policy->ejection_time * (std::int64_t{1} << shift);
  ejected_until_ = now + std::min(doubled, policy->max_ejection_time);
  ++ejections_;
  return true;
}

}  // namespace weft::proxy
