#include "identity/review_pool.h"

#include <algorithm>

namespace weft::identity {

ReviewPool::ReviewPool(TokenReviewer& reviewer, ReviewPoolLimits limits)
    : reviewer_(reviewer), limits_(limits) {
  const int workers = std::max(1, limits_.workers);
  workers_.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  timer_ = std::thread([this] { watch(); });
}

ReviewPool::~ReviewPool() {
  std::deque<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& job : queue_) {
      if (!job->ended) {
        job->ended = true;
        abandoned.push_back(job);
      }
    }
    queue_.clear();
  }
  work_ready_.notify_all();
  deadlines_changed_.notify_all();
  timer_.join();
  for (auto& job : abandoned) {
    job->done(ReviewEnd{ReviewEnd::Kind::kStopped, Error{"weft-identity is stopping"}});
  }
  for (auto& worker : workers_) worker.join();
}

bool ReviewPool::submit(std::string token, Done done) {
  auto job = std::make_shared<Job>();
  job->token = std::move(token);
  job->done = std::move(done);
  job->deadline = Clock::now() + limits_.timeout;
  {
    std::lock_guard lock(mutex_);
    // Workers not yet at the queue count as idle: full means every worker
    // busy and `queue` reviews waiting.
    const auto capacity = static_cast<std::size_t>(std::max(1, limits_.workers)) +
                          static_cast<std::size_t>(std::max(0, limits_.queue));
    if (stopping_ || queue_.size() + busy_ >= capacity) return false;
    queue_.push_back(std::move(job));
  }
  work_ready_.notify_one();
  deadlines_changed_.notify_one();
  return true;
}

std::size_t ReviewPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ReviewPool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

void ReviewPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    running_.push_back(job);
    ++busy_;
    lock.unlock();
    auto answer = reviewer_.review(job->token);
    lock.lock();
    --busy_;
    running_.erase(std::find(running_.begin(), running_.end(), job));
    // Timed out meanwhile: the caller has had its answer, this one is dropped.
    const bool late = job->ended;
    job->ended = true;
    lock.unlock();
    if (!late) job->done(ReviewEnd{ReviewEnd::Kind::kAnswered, std::move(answer)});
    job.reset();  // the caller's state is freed outside the lock
    lock.lock();
  }
}

void ReviewPool::watch() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::vector<std::shared_ptr<Job>> expired;
    std::optional<Clock::time_point> next;
    const auto now = Clock::now();
    const auto visit = [&](const std::shared_ptr<Job>& job) {
      if (job->ended) return;
      if (job->deadline <= now) {
        job->ended = true;
        expired.push_back(job);
      } else if (!next || job->deadline < *next) {
        next = job->deadline;
      }
    };
    for (const auto& job : running_) visit(job);
    for (const auto& job : queue_) visit(job);
    // A review that waited its whole time in the queue is not made at all.
    std::erase_if(queue_, [](const std::shared_ptr<Job>& job) { return job->ended; });
    if (!expired.empty()) {
      lock.unlock();
      for (auto& job : expired) {
        job->done(ReviewEnd{ReviewEnd::Kind::kTimedOut,
                            Error{"no TokenReview answer within " +
                                  std::to_string(limits_.timeout.count()) + " ms"}});
      }
      expired.clear();
      lock.lock();
      continue;  // the deadlines may have changed meanwhile
    }
    if (next) {
      deadlines_changed_.wait_until(lock, *next);
    } else {
      deadlines_changed_.wait(lock);
    }
  }
}

}  // namespace weft::identity
