#pragma once

// `weftctl version` (and `weftctl --version`): weftctl's version, the API
// server's, each control-plane component's (from its pods) and the proxy
// version the webhook injects (docs/weftctl.md).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weftctl/check/gather.h"
#include "weftctl/context.h"

namespace weft::ctl {

// What the cluster says, as -o json prints it: {"client", "kubernetes",
// "controlPlane": {component: [versions]}, "proxy"} (absent: not known,
// "error": why the cluster could not tell).
nlohmann::json gather_versions(check::ClusterReader& reader);

void render_versions(std::ostream& out, const nlohmann::json& versions);

int version_command(Context& context, const std::vector<std::string>& args);

}  // namespace weft::ctl
