#pragma once

// The current configuration, shared by every worker, and the one place a new
// document is accepted or refused. Sources (the mounted file, the API watch)
// offer the raw text; an invalid document is refused, counted and logged, and
// the last good one keeps serving. Before any document: no snapshot, and the
// proxy passes traffic through unchanged.
//
// Which document is newer: the API watch delivers ConfigMap versions in order,
// and the kubelet's file lags behind it (up to a minute). So a file document
// that the watch has already delivered and since replaced is stale and
// ignored ("superseded"); any other document offered is the newest seen.

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

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
  ConfigStore(ProxyMetrics& metrics, Logger& log) : metrics_(metrics), log_(log) {}

  // Null until a document was accepted. Callers keep the pointer for as long
  // as they use it (a request keeps its snapshot to the end).
  std::shared_ptr<const Snapshot> current() const { return current_.load(); }
  // Changes at each accepted document; lets workers refresh cheaply.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Thread-safe. `error`, if given, receives the reason of a refusal.
  OfferResult offer(std::string_view text, ConfigSource source, std::string* error = nullptr);

 private:
  ProxyMetrics& metrics_;
  Logger& log_;
  std::mutex mutex_;  // serializes offers; readers never take it
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::atomic<std::uint64_t> generation_{0};
  std::deque<std::string> api_hashes_;  // recent hashes the watch delivered, oldest first
};

}  // namespace weft::proxy
