#include "proxy/config/configmap_watch_state.h"

#include "weft/kube/error.h"

namespace weft::proxy {
namespace {

using Step = ConfigMapWatchState::Step;
using Kind = Step::Kind;

// The resourceVersion in an object's (or a list's) metadata, or "".
std::string resource_version_of(const nlohmann::json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  const auto version = metadata->find("resourceVersion");
  if (version == metadata->end() || !version->is_string()) return {};
  return version->get<std::string>();
}

}  // namespace

ConfigMapWatchState::ConfigMapWatchState(std::string ns, std::string name, std::string key,
                                         std::chrono::seconds watch_timeout)
    : ns_(std::move(ns)),
      name_(std::move(name)),
      key_(std::move(key)),
      watch_timeout_(watch_timeout) {}

std::string ConfigMapWatchState::next_target() const {
  // Namespaces and ConfigMap names are DNS labels and subdomains: nothing in
  // them needs escaping but the '=' of the selector.
  std::string target =
      "/api/v1/namespaces/" + ns_ +
      "/configmaps?watch=1&allowWatchBookmarks=true&fieldSelector=metadata.name%3D" + name_ +
      "&timeoutSeconds=" + std::to_string(watch_timeout_.count());
  if (resuming()) target += "&resourceVersion=" + resource_version_;
  return target;
}

Step ConfigMapWatchState::document_of(const nlohmann::json& config_map) {
  const auto data = config_map.find("data");
  if (data == config_map.end() || !data->is_object()) return {Kind::kNoDocument, {}};
  const auto document = data->find(key_);
  if (document == data->end() || !document->is_string()) return {Kind::kNoDocument, {}};
  return {Kind::kOffer, document->get<std::string>()};
}

Step ConfigMapWatchState::on_event(const kube::WatchEvent& event) {
  if (event.type == kube::WatchEventType::kError) {
    const kube::ApiError error = kube::error_from_status("watch", event.object);
    if (error.is(kube::ErrorKind::kGone)) {
      start_afresh();
      return {Kind::kRestart, error.message};
    }
    return {Kind::kFail, error.message};
  }
  const std::string version = resource_version_of(event.object);
  if (!version.empty()) resource_version_ = version;
  switch (event.type) {
    case kube::WatchEventType::kAdded:
    case kube::WatchEventType::kModified:
      return document_of(event.object);
    case kube::WatchEventType::kDeleted:
      return {Kind::kDeleted, {}};
    case kube::WatchEventType::kBookmark:
    case kube::WatchEventType::kError:
      break;
  }
  return {Kind::kNothing, {}};
}

Step ConfigMapWatchState::on_http_error(int status, std::string_view body) {
  const kube::ApiError error = kube::error_from_response("watch", status, body);
  if (error.is(kube::ErrorKind::kGone)) {
    start_afresh();
    return {Kind::kRestart, error.message};
  }
  return {Kind::kFail, error.message};
}

}  // namespace weft::proxy
