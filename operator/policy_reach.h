#pragma once

// Where each MeshPolicy's server-side sections are enforced, by the proxy's own
// rule (docs/proxy-config.md, inbound.policies): for each pod and section, the
// first policy of the document's order that selects the pod (by its labels),
// covers a port and sets the section wins there. Pure: the status of a policy
// says the truth about its reach (docs/crds.md, "Status").

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "operator/model.h"
#include "weft/proxyconfig/document.h"

namespace weft::op {

// Pods of a policy not meshed, named in its status at most this many.
inline constexpr std::size_t kReachExamples = 5;

struct PolicyReach {
  std::vector<std::string> sections;           // what it sets: "mtls", "authorization", "rateLimit"
  std::vector<std::size_t> sections_enforced;  // per section: meshed pods where it wins it
  std::size_t selected = 0;                    // pods it selects
  std::size_t selected_meshed = 0;             // of which meshed (they run the proxy)
  std::vector<std::string> not_meshed;  // the first kReachExamples selected, unmeshed, by name
  std::size_t enforced = 0;             // meshed pods where it wins at least one of its sections
};

// By policy name, for each of `policies` (the document's inbound.policies, in
// precedence order). Pods being deleted do not count.
std::map<std::string, PolicyReach> policy_reach(
    const std::vector<proxyconfig::InboundPolicy>& policies,
    const std::vector<std::shared_ptr<const PodModel>>& pods);

}  // namespace weft::op
