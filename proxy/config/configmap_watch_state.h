#pragma once

// What the ConfigMap watch does with each answer of the API server, without
// any I/O, so unit tests drive it with captured JSON. One watch of the one
// ConfigMap (field selector on its name) serves as list and watch: started
// without a resourceVersion, the apiserver first sends the ConfigMap as it is
// (a synthetic ADDED), then its changes. The watch follows the resourceVersion
// of every event (bookmarks included) so a reconnection resumes where the
// stream stopped; "410 Gone" means that version is too old: start afresh.
// Only `watch` is needed, which the operator's Role grants for that name.

#include <chrono>
#include <string>
#include <string_view>

#include "weft/kube/watch_event.h"

namespace weft::proxy {

class ConfigMapWatchState {
 public:
  ConfigMapWatchState(std::string ns, std::string name, std::string key,
                      std::chrono::seconds watch_timeout = std::chrono::seconds(290));

  // The path and query of the next watch: from the last resourceVersion seen,
  // or from the current state when there is none.
  std::string next_target() const;
  bool resuming() const { return !resource_version_.empty(); }
  const std::string& resource_version() const { return resource_version_; }

  struct Step {
    enum class Kind {
      kNothing,     // a bookmark
      kOffer,       // `text` is a document to offer to the ConfigStore
      kNoDocument,  // the ConfigMap has no string under the key
      kDeleted,     // the ConfigMap was deleted: keep the last good document
      kRestart,     // the resourceVersion expired: watch afresh now
      kFail,        // `text` says why; reconnect after a backoff
    };
    Kind kind = Kind::kNothing;
    std::string text;
  };
  // One event of the watch stream.
  Step on_event(const kube::WatchEvent& event);
  // An HTTP error status of the watch request, with its body.
  Step on_http_error(int status, std::string_view body);

 private:
  Step document_of(const nlohmann::json& config_map);
  void start_afresh() { resource_version_.clear(); }

  const std::string ns_;
  const std::string name_;
  const std::string key_;
  const std::chrono::seconds watch_timeout_;
  std::string resource_version_;
};

}  // namespace weft::proxy
