#pragma once

// Fakes for the service's tests: a reviewer that can hold its reviews until
// released, a signer that echoes the identity, and a synchronous call of the
// asynchronous certificate endpoint.

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "identity/service.h"

namespace weft::identity::testing {

// Answers every token as SA shop/web; while `hold` is set, each review waits
// until release().
class GateReviewer final : public TokenReviewer {
 public:
  Result<TokenReviewAnswer> review(std::string_view) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold_ || released_; });
    ++answered_;
    return TokenReviewAnswer{true, {"identity.weft.io"}, "system:serviceaccount:shop:web", ""};
  }
  void hold() {
    std::lock_guard lock(mutex_);
    hold_ = true;
  }
  // False if fewer than `count` reviews started within 30 s.
  bool wait_for_waiting(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  int started() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  int answered() {
    std::lock_guard lock(mutex_);
    return answered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_ = false;
  int waiting_ = 0;
  int answered_ = 0;
  bool released_ = false;
};

class EchoSigner final : public LeafSigner {
 public:
  Result<Leaf> sign(std::string_view, const WorkloadIdentity& identity,
                    std::chrono::system_clock::time_point now) override {
    return Leaf{"LEAF " + identity.uri(), now};
  }
  const std::string& chain_pem() const override { return chain_; }
  std::chrono::system_clock::time_point not_after() const override { return end; }
  std::chrono::system_clock::time_point end = std::chrono::system_clock::time_point::max();

 private:
  std::string chain_ = "ISSUER";
};

// Polls for up to 30 s: generous, so a slow machine does not fail it.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// The answer to one certificate request, waited for (status 0 when none came
// within 30 s).
inline http::Response answer_of(IdentityService& service, http::Request request) {
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto future = promise->get_future();
  service.certificates(std::move(request),
                       [promise](http::Response response) { promise->set_value(response); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return http::Response{0, "no answer"};
  }
  return future.get();
}

}  // namespace weft::identity::testing
