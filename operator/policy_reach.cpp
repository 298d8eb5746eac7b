#include "operator/policy_reach.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "operator/config_builder.h"

namespace weft::op {
namespace {

namespace pc = weft::proxyconfig;

enum class Section { kMtls, kAuthorization, kRateLimit };
constexpr Section kSections[] = {Section::kMtls, Section::kAuthorization, Section::kRateLimit};

bool sets(const pc::InboundPolicy& policy, Section section) {
  switch (section) {
    case Section::kMtls:
      return policy.mtls.has_value();
    case Section::kAuthorization:
      return policy.authorization.has_value();
    case Section::kRateLimit:
      return policy.rate_limit.has_value();
  }
  return false;
}

std::string section_name(Section section) {
  switch (section) {
    case Section::kMtls:
      return "mtls";
    case Section::kAuthorization:
      return "authorization";
    case Section::kRateLimit:
      return "rateLimit";
  }
  return "";
}

// Port 0 stands for every port no policy names: covered only by policies
// without a port list. The pods' own ports are not needed: any other port
// behaves like it.
constexpr std::uint16_t kAnyOtherPort = 0;

bool covers(const pc::InboundPolicy& policy, std::uint16_t port) {
  if (policy.ports.empty()) return true;
  return port != kAnyOtherPort &&
         std::binary_search(policy.ports.begin(), policy.ports.end(), port);
}

}  // namespace

std::map<std::string, PolicyReach> policy_reach(
    const std::vector<pc::InboundPolicy>& policies,
    const std::vector<std::shared_ptr<const PodModel>>& pods) {
  std::map<std::string, PolicyReach> out;
  for (const auto& policy : policies) {
    auto& reach = out[policy.name];
    for (Section section : kSections) {
      if (sets(policy, section)) reach.sections.push_back(section_name(section));
    }
    reach.sections_enforced.assign(reach.sections.size(), 0);
  }
  // By name, so that the pods named in a status do not change with cache order.
  std::vector<const PodModel*> sorted;
  for (const auto& pod : pods) {
    if (pod && !pod->meta.deleting && !pod->finished) sorted.push_back(pod.get());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const PodModel* a, const PodModel* b) { return a->meta.name < b->meta.name; });

  std::vector<const pc::InboundPolicy*> selecting;
  for (const PodModel* pod : sorted) {
    selecting.clear();
    std::set<std::uint16_t> ports = {kAnyOtherPort};
    for (const auto& policy : policies) {
      if (!selector_matches(policy.pod_selector, pod->meta.labels)) continue;
      selecting.push_back(&policy);
      ports.insert(policy.ports.begin(), policy.ports.end());
    }
    for (const auto* policy : selecting) {
      auto& reach = out[policy->name];
      ++reach.selected;
      if (!pod->meshed) {
        if (reach.not_meshed.size() < kReachExamples) reach.not_meshed.push_back(pod->meta.name);
        continue;
      }
      ++reach.selected_meshed;
      bool wins = false;
      std::size_t index = 0;  // into reach.sections: the sections it sets, in order
      for (Section section : kSections) {
        if (!sets(*policy, section)) continue;
        for (std::uint16_t port : ports) {
          if (!covers(*policy, port)) continue;
          // The first selecting policy that sets the section and covers the port.
          const auto first = std::find_if(
              selecting.begin(), selecting.end(),
              [&](const pc::InboundPolicy* p) { return sets(*p, section) && covers(*p, port); });
          if (*first == policy) {
            wins = true;
            ++reach.sections_enforced[index];
            break;
          }
        }
        ++index;
      }
      if (wins) ++reach.enforced;
    }
  }
  return out;
}

}  // namespace weft::op
