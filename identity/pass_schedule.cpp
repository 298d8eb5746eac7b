#include "identity/pass_schedule.h"

#include <algorithm>

namespace weft::identity {

std::chrono::milliseconds next_pass_delay(std::chrono::milliseconds resync_interval,
                                          std::chrono::system_clock::time_point serving_renew_at,
                                          std::chrono::system_clock::time_point now) {
  if (serving_renew_at == std::chrono::system_clock::time_point{}) return resync_interval;
  const auto until_renewal = std::chrono::ceil<std::chrono::milliseconds>(serving_renew_at - now);
  const auto floor = std::min(resync_interval, kMinPassDelay);
  return std::clamp(until_renewal, floor, resync_interval);
}

}  // namespace weft::identity
