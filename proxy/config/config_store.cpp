#include "proxy/config/config_store.h"

#include <chrono>

namespace weft::proxy {

std::string_view to_string(ConfigSource source) {
  return source == ConfigSource::kFile ? "file" : "api";
}

std::string_view to_string(OfferResult result) {
  switch (result) {
    case OfferResult::kAccepted:
      return "accepted";
    case OfferResult::kUnchanged:
      return "unchanged";
    case OfferResult::kRefused:
      return "refused";
    case OfferResult::kSuperseded:
      return "superseded";
  }
  return "unknown";
}

OfferResult ConfigStore::offer(std::string_view text, ConfigSource source, std::string* error) {
  std::lock_guard lock(mutex_);
  const auto count = [&](OfferResult result) {
    metrics_.config_reload_total
        .with_labels({std::string(to_string(source)), std::string(to_string(result))})
        .inc();
    return result;
  };
  auto parsed = proxyconfig::parse(text);
  if (!parsed.has_value()) {
    log_.error("configuration refused, keeping the last good one",
               {{"source", to_string(source)}, {"error", parsed.error().message}});
    if (error != nullptr) *error = parsed.error().message;
    return count(OfferResult::kRefused);
  }
  const std::string hash = parsed.value().hash;
  const std::shared_ptr<const Snapshot> previous = current_.load();
  if (source == ConfigSource::kApi) api_delivered_ = true;
  if (previous && previous->hash() == hash) return count(OfferResult::kUnchanged);
  if (source == ConfigSource::kFile && api_delivered_ &&
      (api_connected_ || Clock::now() - api_lost_at_ < file_trust_delay_)) {
    log_.info("configuration file ignored: the ConfigMap watch is newer", {{"hash", hash}});
    return count(OfferResult::kSuperseded);
  }
  auto snapshot = Snapshot::build(std::move(parsed.value()), std::string(text));
  if (!snapshot.has_value()) {
    log_.error("configuration refused, keeping the last good one",
               {{"source", to_string(source)}, {"error", snapshot.error().message}});
    if (error != nullptr) *error = snapshot.error().message;
    return count(OfferResult::kRefused);
  }
  publish_policies(snapshot.value().get());
  current_.store(std::move(snapshot.value()));
  generation_.fetch_add(1, std::memory_order_acq_rel);
  metrics_.config_last_reload_success_timestamp_seconds.get().set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  log_.info("configuration accepted", {{"source", to_string(source)},
                                       {"hash", hash},
                                       {"previous", previous ? previous->hash() : ""}});
  return count(OfferResult::kAccepted);
}

void ConfigStore::publish_policies(const Snapshot* snapshot) {
  if (snapshot == nullptr) {
    policies_.store(std::make_shared<const authz::InboundPolicies>());
  } else if (labels_expected_ && !labels_read_) {
    proxyconfig::Document closed = snapshot->document();
    closed.inbound.policies.clear();
    closed.inbound.default_policy = proxyconfig::DefaultInboundPolicy::kDeny;
    policies_.store(authz::InboundPolicies::compile(closed, {}));
  } else {
    policies_.store(authz::InboundPolicies::compile(snapshot->document(), labels_));
  }
  policy_generation_.fetch_add(1, std::memory_order_acq_rel);
}

void ConfigStore::set_pod_labels(authz::PodLabels labels) {
  std::lock_guard lock(mutex_);
  if (labels_read_ && labels == labels_) return;
  labels_ = std::move(labels);
  labels_read_ = true;
  publish_policies(current_.load().get());
}

void ConfigStore::expect_pod_labels() {
  std::lock_guard lock(mutex_);
  labels_expected_ = true;
  publish_policies(current_.load().get());
}

void ConfigStore::set_api_connected(bool connected) {
  std::lock_guard lock(mutex_);
  if (api_connected_ && !connected) api_lost_at_ = Clock::now();
  api_connected_ = connected;
}

}  // namespace weft::proxy
