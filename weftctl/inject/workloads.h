#pragma once

// Where each kind of workload keeps the template of its pods.

#include <optional>
#include <string>
#include <string_view>

namespace weft::ctl::inject {

// The JSON pointer of the pod template in an object of this apiVersion and
// kind: "" for a Pod (the object is its own template), "/spec/template" for
// Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers
// and Jobs, "/spec/jobTemplate/spec/template" for CronJobs. nullopt for any
// other kind, or a known kind of another API group (a CRD of the same name).
std::optional<std::string> pod_template_pointer(std::string_view api_version,
                                                std::string_view kind);

// `kind: List`, or any `*List` (DeploymentList...) holding `items`.
bool is_list_kind(std::string_view kind);

}  // namespace weft::ctl::inject
