#pragma once

// Read-modify-write with optimistic concurrency: when an update fails with
// 409 Conflict (someone wrote in between), read again, reapply the change and
// write again, a bounded number of times, as client-go's RetryOnConflict.
//
//   auto result = kube::retry_on_conflict([&] {
//     auto current = client.get(type, ns, name);
//     if (!current) return current;
//     (*current)["data"]["key"] = "value";
//     return client.update(type, *current);
//   });

#include <chrono>
#include <thread>
#include <utility>

#include "weft/backoff.h"
#include "weft/kube/error.h"

namespace weft::kube {

// Short delays: conflicts clear as soon as the other writer is done.
inline constexpr BackoffPolicy kConflictBackoff{std::chrono::milliseconds(10),
                                                std::chrono::milliseconds(1000), 2.0, 0.5};

// Calls attempt() (which must re-read before modifying) until its result is
// not kConflict or max_attempts calls were made; returns the last result.
// attempt returns a kube::Result<T>.
template <typename Attempt>
auto retry_on_conflict(Attempt&& attempt, int max_attempts = 5,
                       BackoffPolicy policy = kConflictBackoff) -> decltype(attempt()) {
  Backoff backoff(policy);
  auto result = attempt();
  for (int i = 1; i < max_attempts && result.is_error(ErrorKind::kConflict); ++i) {
    std::this_thread::sleep_for(backoff.next());
    result = attempt();
  }
  return result;
}

}  // namespace weft::kube
