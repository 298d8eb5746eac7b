#pragma once

// `weftctl stat deploy|pod|ns|route [NAME] [--window D] [--from RES] [--to RES]`:
// the golden metrics of meshed workloads over a window, from two scrapes of
// their proxies' /metrics through the API server's pod proxy (no Prometheus).
// docs/weftctl.md, "stat".

#include <string>
#include <vector>

#include "weft/proxyconfig/document.h"
#include "weftctl/context.h"
#include "weftctl/stat/cluster.h"

namespace weft::ctl {

int stat_command(Context& context, const std::vector<std::string>& args);

namespace stat {

// The command on a given cluster (unit tests give a fake one).
int run_stat(Context& context, Cluster& cluster, const std::vector<std::string>& args);

// A namespace's proxy configuration document from its ConfigMap
// weft-proxy-config; an error says why there is none (not found, forbidden,
// refused by the parser). Shared with diagnose.
Result<proxyconfig::Document> namespace_document(Cluster& cluster, const std::string& ns);

}  // namespace stat
}  // namespace weft::ctl
