#pragma once

// `weftctl diagnose config POD | endpoints SERVICE[:PORT] | policy POD`: what
// one proxy serves, what the proxies balance a Service over, and what the
// policies decide for a pod. docs/weftctl.md, "diagnose".

#include <string>
#include <vector>

#include "weftctl/context.h"
#include "weftctl/stat/cluster.h"

namespace weft::ctl {

int diagnose_command(Context& context, const std::vector<std::string>& args);

namespace diagnose {

// The command on a given cluster (unit tests give a fake one).
int run_diagnose(Context& context, stat::Cluster& cluster, const std::vector<std::string>& args);

}  // namespace diagnose
}  // namespace weft::ctl
