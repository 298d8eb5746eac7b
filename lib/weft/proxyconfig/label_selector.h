#pragma once

// Kubernetes label-selector matching, the one copy the operator (which pods a
// policy or Service selects) and the proxy (whether a policy selects its own
// pod) share. Pure.

#include <map>
#include <string>

#include "weft/proxyconfig/document.h"

namespace weft::proxyconfig {

// Whether a pod carrying `labels` is selected by `selector`: every matchLabels
// pair and every matchExpressions requirement (In, NotIn, Exists,
// DoesNotExist) holds. An empty selector selects every pod.
// Defined for std::less<std::string> and std::less<> (the proxy's PodLabels).
template <typename Compare>
bool selector_matches(const LabelSelector& selector,
                      const std::map<std::string, std::string, Compare>& labels);
// Not a template, so that a braced list of labels converts to it.
bool selector_matches(const LabelSelector& selector,
                      const std::map<std::string, std::string>& labels);

extern template bool selector_matches(const LabelSelector&,
                                      const std::map<std::string, std::string, std::less<>>&);

}  // namespace weft::proxyconfig
