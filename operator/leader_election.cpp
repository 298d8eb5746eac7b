#include "operator/leader_election.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <condition_variable>

namespace weft::op {

using nlohmann::json;
using std::chrono::steady_clock;

namespace {
// A string field of the Lease spec; absent or null reads as "".
std::string spec_text(const json& lease, const char* key) {
  const auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return "";
  const auto it = spec->find(key);
  return it != spec->end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

std::string format_micro_time(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", utc, micros % 1'000'000);
}

LeaderElector::LeaderElector(std::shared_ptr<kube::Client> client, LeaderElectionOptions options,
                             Logger& logger)
    : client_(std::move(client)), options_(std::move(options)), logger_(logger) {}

LeaderElector::~LeaderElector() {
  stop_and_release();
}

void LeaderElector::start(std::function<void()> on_started, std::function<void()> on_stopped) {
  on_started_ = std::move(on_started);
  on_stopped_ = std::move(on_stopped);
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void LeaderElector::sleep(std::chrono::milliseconds delay, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, delay, [] { return false; });
}

void LeaderElector::run(std::stop_token stop) {
  // Campaign.
  while (!stop.stop_requested() && !try_acquire_or_renew()) sleep(options_.retry_period, stop);
  if (stop.stop_requested()) return;
  leader_ = true;
  logger_.info("became leader",
               {{"lease", options_.ns + "/" + options_.name}, {"identity", options_.identity}});
  if (on_started_) on_started_();

  // Lead: renew, and give up before the lease could expire for the others.
  auto last_renew = steady_clock::now();
  while (!stop.stop_requested()) {
    sleep(options_.retry_period, stop);
    if (stop.stop_requested()) break;
    if (try_acquire_or_renew()) {
      last_renew = steady_clock::now();
    } else if (steady_clock::now() - last_renew > options_.renew_deadline) {
      leader_ = false;
      logger_.error("lost leadership: could not renew the lease within the renew deadline",
                    {{"lease", options_.ns + "/" + options_.name},
                     {"renew_deadline_ms", options_.renew_deadline.count()}});
      if (on_stopped_) on_stopped_();
      return;
    }
  }
}

bool LeaderElector::try_acquire_or_renew() {
  const auto& type = kube::resources::leases();
  const auto now_text = format_micro_time(std::chrono::system_clock::now());
  const auto duration_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();

  auto current = client_->get(type, options_.ns, options_.name);
  if (current.is_error(kube::ErrorKind::kNotFound)) {
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", duration_seconds},
                    {"acquireTime", now_text},
                    {"renewTime", now_text},
                    {"leaseTransitions", 0}}}};
    auto created = client_->create(type, lease);
    if (!created) {
      if (created.is_error(kube::ErrorKind::kNotFound)) {
        // The Lease's namespace is missing (the operator run outside the
        // install bundle): said once, since nothing happens until it exists.
        if (!missing_namespace_reported_) {
          logger_.warn(
              "waiting for the leader-election namespace: create it (manifests/00-namespace.yaml "
              "does) or run with --leader-elect false",
              {{"namespace", options_.ns}, {"error", created.error().message}});
          missing_namespace_reported_ = true;
        }
      } else {
        logger_.debug("lease create failed", {{"error", created.error().message}});
      }
      return false;
    }
    return true;
  }
  if (!current) {
    logger_.warn("lease read failed", {{"error", current.error().message}});
    return false;
  }

  json lease = std::move(*current);
  const std::string holder = spec_text(lease, "holderIdentity");
  const std::string record = holder + "|" + spec_text(lease, "renewTime");
  json& spec = lease["spec"];
  const auto now = steady_clock::now();
  if (holder != options_.identity) {
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = now;
    }
    const bool expired = now - observed_at_ > options_.lease_duration;
    if (!holder.empty() && !expired) return false;
    spec["acquireTime"] = now_text;
    const auto transitions = spec.find("leaseTransitions");
    spec["leaseTransitions"] =
        (transitions != spec.end() && transitions->is_number_integer() ? transitions->get<int>()
                                                                       : 0) +
        1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = duration_seconds;
  spec["renewTime"] = now_text;
  // resourceVersion from the read makes this a compare-and-swap.
  auto updated = client_->update(type, lease);
  if (!updated) {
    logger_.debug("lease update failed", {{"error", updated.error().message}});
    return false;
  }
  return true;
}

void LeaderElector::release() {
  const auto& type = kube::resources::leases();
  auto current = client_->get(type, options_.ns, options_.name);
  if (!current || spec_text(*current, "holderIdentity") != options_.identity) return;
  json lease = std::move(*current);
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = format_micro_time(std::chrono::system_clock::now());
  auto updated = client_->update(type, lease);
  if (updated) {
    logger_.info("released the lease", {{"lease", options_.ns + "/" + options_.name}});
  } else {
    logger_.warn("could not release the lease", {{"error", updated.error().message}});
  }
}

void LeaderElector::stop_and_release() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  std::lock_guard lock(release_mutex_);
  if (released_) return;
  released_ = true;
  if (leader_.exchange(false)) release();
}

}  // namespace weft::op
