#pragma once

// When weft-identity's runner makes its next pass: every --resync-interval,
// or sooner when its serving certificate is due for renewal (at 70 % of its
// life, which is --leaf-lifetime). Without the earlier wake, a leaf lifetime
// shorter than about three resync intervals would let the serving certificate
// expire between two passes, and proxies could not renew meanwhile.

#include <chrono>

namespace weft::identity {

// The wait before the next pass. `serving_renew_at` is the epoch when no
// serving certificate is held (the next pass makes one, if it can). A renewal
// already due (one that failed) is retried after a short pause, not at once.
std::chrono::milliseconds next_pass_delay(std::chrono::milliseconds resync_interval,
                                          std::chrono::system_clock::time_point serving_renew_at,
                                          std::chrono::system_clock::time_point now);

// The shortest wait between two passes (less if --resync-interval is less).
inline constexpr std::chrono::milliseconds kMinPassDelay{1000};

}  // namespace weft::identity
