#include "operator/default_inbound_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "weft/constants.h"
#include "weft/proxyconfig/enums.h"

namespace weft::op {

namespace pc = weft::proxyconfig;

std::optional<pc::DefaultInboundPolicy> parse_default_inbound_policy(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return pc::parse_enum<pc::DefaultInboundPolicy>(lower);
}

DefaultInboundPolicyChoice choose_default_inbound_policy(
    const std::optional<std::string>& annotation, pc::DefaultInboundPolicy fallback) {
  if (!annotation) return {fallback, ""};
  if (auto policy = parse_default_inbound_policy(*annotation)) return {*policy, ""};
  // Quoted, at most 63 characters: the value is the namespace author's.
  const std::string shown = annotation->substr(0, 63);
  return {pc::DefaultInboundPolicy::kDeny,
          fmt::format("annotation {} has the unknown value {:?} (all-unauthenticated, "
                      "all-authenticated, same-namespace or deny): the namespace's proxies deny "
                      "what no MeshPolicy allows until it is fixed",
                      kDefaultInboundPolicyAnnotation, shown)};
}

}  // namespace weft::op
