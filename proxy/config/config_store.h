#pragma once

// The current configuration, shared by every worker, and the one place a new
// document is accepted or refused. Sources (the mounted file, the API watch)
// offer the raw text; an invalid document is refused, counted and logged, and
// the last good one keeps serving. Before any document: no snapshot, and the
// proxy passes traffic through unchanged.
//
// Which document is newer. The API watch delivers the ConfigMap's versions in
// order, within milliseconds; the mounted file shows some version the kubelet
// fetched, up to about a minute late, and carries no version of its own (nor
// does the document: the operator writes the same bytes for the same inputs).
// A content hash cannot order them: the file may show a version the watch
// never delivered (it changed while the watch reconnected), or an old content
// again. So the watch is the authority while it works: once it has delivered a
// document, file documents are ignored ("superseded") while the watch is
// connected and for kFileTrustDelay after it lost its connection, a delay
// longer than the kubelet's lag, after which the file can only show a version
// at least as new as the watch's last. When the watch reconnects it delivers
// the current version (or every change since its last), which wins again.
// Without a watch (none configured, or it never delivered), the file is the
// only source and each new document from it is accepted.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/authz/inbound_policy.h"
#include "proxy/authz/pod_labels.h"
#include "proxy/config/snapshot.h"
#include "proxy/metrics.h"
#include "weft/log.h"

namespace weft::proxy {

enum class ConfigSource { kFile, kApi };
std::string_view to_string(ConfigSource source);

enum class OfferResult { kAccepted, kUnchanged, kRefused, kSuperseded };
std::string_view to_string(OfferResult result);

class ConfigStore {
 public:
  using Clock = std::chrono::steady_clock;
  // Longer than the kubelet's ConfigMap sync (about a minute) plus its cache.
  static constexpr std::chrono::milliseconds kFileTrustDelay{150'000};

  ConfigStore(ProxyMetrics& metrics, Logger& log,
              std::chrono::milliseconds file_trust_delay = kFileTrustDelay)
      : metrics_(metrics), log_(log), file_trust_delay_(file_trust_delay) {}

  // Null until a document was accepted. Callers keep the pointer for as long
  // as they use it (a request keeps its snapshot to the end).
  std::shared_ptr<const Snapshot> current() const { return current_.load(); }
  // Changes at each accepted document; lets workers refresh cheaply.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Thread-safe. `error`, if given, receives the reason of a refusal.
  OfferResult offer(std::string_view text, ConfigSource source, std::string* error = nullptr);

  // The pod's inbound policies (MeshPolicy mtls, authorization, rateLimit),
  // compiled once per change of the document or of the pod's labels, never
  // per worker or request. Before any document: everything allowed.
  std::shared_ptr<const authz::InboundPolicies> policies() const { return policies_.load(); }
  // Changes each time policies() does.
  std::uint64_t policy_generation() const {
    return policy_generation_.load(std::memory_order_acquire);
  }
  // The pod's labels changed (its labels file): the policies are compiled again.
  void set_pod_labels(authz::PodLabels labels);
  // The pod's labels come from a file (--pod-labels-file): until they have
  // been read once, a document's policies cannot be applied to this pod, and
  // inbound traffic is denied (the kubelet's probes aside) rather than let
  // through under a policy that might not select it.
  void expect_pod_labels();

  // The API watch reports its connection: true once the server accepted a
  // watch (its events follow), false when the connection ended.
  void set_api_connected(bool connected);

 private:
  ProxyMetrics& metrics_;
  Logger& log_;
  std::mutex mutex_;  // serializes offers; readers never take it
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::atomic<std::uint64_t> generation_{0};
  const std::chrono::milliseconds file_trust_delay_;
  bool api_delivered_ = false;  // the watch has delivered a document
  bool api_connected_ = false;
  Clock::time_point api_lost_at_{};  // when api_connected_ last became false
  authz::PodLabels labels_;          // under mutex_
  bool labels_expected_ = false;     // under mutex_
  bool labels_read_ = false;         // under mutex_
  std::atomic<std::shared_ptr<const authz::InboundPolicies>> policies_{
      std::make_shared<const authz::InboundPolicies>()};
  std::atomic<std::uint64_t> policy_generation_{0};
  // Under mutex_: compiles the current document with labels_ and publishes it.
  void publish_policies(const Snapshot* snapshot);
};

}  // namespace weft::proxy
