#pragma once

// The version a control-plane pod runs, as `weftctl version` shows it and
// `weftctl check` compares it with the proxies' /version: its
// app.kubernetes.io/version label if set, else the tag of its first
// container's image (weft/weft-webhook:0.1.0 -> "v0.1.0", the form of the
// proxy's /version).

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

namespace weft::ctl {

// "" when neither says (an image by digest only, say).
std::string pod_version(const nlohmann::json& pod);

// The control plane's pods (operator, webhook, identity) among `pods` (a
// PodList's items), by version: one entry when the control plane runs one
// version. A pod whose version cannot be told is under "unknown".
std::map<std::string, std::set<std::string>> control_plane_versions(const nlohmann::json& pods);

// "0.1.0" -> "v0.1.0"; "v0.1.0", "latest" unchanged.
std::string normalize_version(std::string_view version);

// weftctl's own version: the project's, as the proxy reports its own.
std::string client_version();

}  // namespace weft::ctl
