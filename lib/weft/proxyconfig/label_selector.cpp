#include "weft/proxyconfig/label_selector.h"

#include <algorithm>

namespace weft::proxyconfig {
template <typename Compare>
bool selector_matches(const LabelSelector& selector,
                      const std::map<std::string, std::string, Compare>& labels) {
  for (const auto& [key, value] : selector.match_labels) {
    const auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const auto& requirement : selector.match_expressions) {
    const auto it = labels.find(requirement.key);
    const bool has = it != labels.end();
    const bool in_values = has && std::find(requirement.values.begin(), requirement.values.end(),
                                            it->second) != requirement.values.end();
    switch (requirement.op) {
      case SelectorOperator::kIn:
        if (!in_values) return false;
        break;
      case SelectorOperator::kNotIn:
        if (in_values) return false;
        break;
      case SelectorOperator::kExists:
        if (!has) return false;
        break;
      case SelectorOperator::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

template bool selector_matches(const LabelSelector&,
                               const std::map<std::string, std::string, std::less<>>&);

bool selector_matches(const LabelSelector& selector,
                      const std::map<std::string, std::string>& labels) {
  return selector_matches<std::less<std::string>>(selector, labels);
}

}  // namespace weft::proxyconfig
