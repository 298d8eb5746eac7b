#pragma once

// Leader election with a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection: only the holder of the Lease writes. Defaults follow
// controller-runtime: 15 s lease, 10 s renew deadline, 2 s retry.
//
// - A candidate tries every retry_period. It takes the Lease when it is free
//   (no holder) or expired: the record (holder, renewTime) has not changed for
//   lease_duration as measured on the candidate's own clock (clocks of
//   different machines are never compared).
// - The leader renews every retry_period; if it cannot renew for
//   renew_deadline it stops leading (on_stopped_leading) before the lease can
//   expire for others, so two leaders never overlap.
// - release() empties holderIdentity, so a successor takes over at once.
// Every write is an update with the resourceVersion read, so two candidates
// racing for the Lease cannot both win (the loser gets 409 Conflict).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "weft/kube/client.h"
#include "weft/log.h"

namespace weft::op {

struct LeaderElectionOptions {
  std::string ns = "weft-system";
  std::string name = "weft-operator";
  std::string identity;  // unique per process: hostname + random suffix
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
};

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionOptions options,
                Logger& logger);
  ~LeaderElector();

  // Starts campaigning on a thread. on_started is called (on that thread) when
  // this process becomes leader; on_stopped when it loses the Lease.
  void start(std::function<void()> on_started, std::function<void()> on_stopped);
  // Stops campaigning and, if leading, releases the Lease. Idempotent.
  void stop_and_release();

  bool is_leader() const { return leader_.load(); }
  const std::string& identity() const { return options_.identity; }

 private:
  void run(std::stop_token stop);
  // One attempt to acquire or renew; true when this process holds the Lease after it.
  bool try_acquire_or_renew();
  void release();
  void sleep(std::chrono::milliseconds delay, std::stop_token stop);

  const std::shared_ptr<kube::Client> client_;
  const LeaderElectionOptions options_;
  Logger& logger_;
  std::function<void()> on_started_;
  std::function<void()> on_stopped_;
  std::atomic<bool> leader_{false};
  bool missing_namespace_reported_ = false;  // (used by the campaign thread only)
  std::jthread thread_;
  std::mutex release_mutex_;
  bool released_ = false;

  // What we last saw of someone else's record, and when (our steady clock).
  std::string observed_record_;
  std::chrono::steady_clock::time_point observed_at_{};
};

// A Lease MicroTime: "2006-01-02T15:04:05.000000Z".
std::string format_micro_time(std::chrono::system_clock::time_point time);

}  // namespace weft::op
