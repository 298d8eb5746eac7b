#pragma once

// The TokenReviews of weft-identity, made off the HTTP server's threads: a
// fixed number of workers behind a bounded queue, and a deadline for each
// review. A slow API server (or reviews made slow on purpose) then holds the
// workers only: the server keeps answering everything that needs no review,
// a full queue is refused at once, and a caller waits at most the timeout.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "identity/issuance.h"

namespace weft::identity {

struct ReviewPoolLimits {
  int workers = 4;                          // reviews in flight at once
  int queue = 64;                           // reviews waiting for a worker
  std::chrono::milliseconds timeout{5000};  // from submit() to the answer
};

// How a review ended, for the caller.
struct ReviewEnd {
  enum class Kind { kAnswered, kTimedOut, kStopped };
  Kind kind = Kind::kAnswered;
  // kAnswered: the reviewer's answer (its error is a failure to review);
  // otherwise an error saying why there is none.
  Result<TokenReviewAnswer> answer = Error{"not reviewed"};
};

class ReviewPool {
 public:
  using Clock = std::chrono::steady_clock;
  // Called exactly once per accepted review, on a worker (answered), on the
  // pool's timer thread (timed out) or in the destructor (stopped).
  using Done = std::function<void(ReviewEnd)>;

  // reviewer outlives the pool. Starts the workers and the timer thread.
  ReviewPool(TokenReviewer& reviewer, ReviewPoolLimits limits);
  // Ends the waiting reviews (kStopped), then waits for those in progress,
  // which end within the reviewer's own timeout.
  ~ReviewPool();
  ReviewPool(const ReviewPool&) = delete;
  ReviewPool& operator=(const ReviewPool&) = delete;

  // False, without calling done, when the queue is full.
  bool submit(std::string token, Done done);

  // Now: reviews waiting for a worker, and workers busy (those whose caller
  // timed out included, until the reviewer returns).
  std::size_t queued() const;
  std::size_t busy() const;

 private:
  struct Job {
    std::string token;
    Done done;
    Clock::time_point deadline;
    bool ended = false;  // done was called or is being called (under mutex_)
  };

  void work();
  void watch();

  TokenReviewer& reviewer_;
  const ReviewPoolLimits limits_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable deadlines_changed_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Job>> running_;
  std::size_t busy_ = 0;
  bool stopping_ = false;

  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace weft::identity
