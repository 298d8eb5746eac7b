#pragma once

// The pod's own labels, read from the file the downward API keeps current
// (constants.h kPodInfoLabelsFile): one `key="value"` per line, sorted by key,
// the value quoted as Go's %q quotes it (\" \\ \n \t and \xNN, \uNNNN,
// \UNNNNNNNN escapes). Pure: the caller reads the file.

#include <map>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::proxy::authz {

using PodLabels = std::map<std::string, std::string, std::less<>>;

// Refuses (with the line number) a line without `=`, an unquoted or badly
// escaped value, a key that is not a Kubernetes label key, a duplicate key,
// more than 16,384 labels or a file over 2 MiB (far above what Kubernetes
// lets a pod carry). Blank lines are skipped.
Result<PodLabels> parse_pod_labels(std::string_view text);

}  // namespace weft::proxy::authz
