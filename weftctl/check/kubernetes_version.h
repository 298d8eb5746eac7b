#pragma once

// The Kubernetes versions Weft supports, and reading the API server's.

#include <optional>
#include <string>
#include <string_view>

namespace weft::ctl::check {

struct KubernetesVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KubernetesVersion&) const = default;
};

// The oldest supported: the CRDs' CEL rules use the CIDR library (1.31).
inline constexpr KubernetesVersion kOldestSupported{1, 31};
// The newest the tests run against (scripts/versions.env, WEFT_K8S_VERSION);
// a newer one works as far as anyone knows, with a warning.
inline constexpr KubernetesVersion kNewestTested{1, 34};

// From /version's gitVersion ("v1.34.4", "v1.31.0-gke.1"); nothing when unreadable.
std::optional<KubernetesVersion> parse_kubernetes_version(std::string_view git_version);
std::string to_string(KubernetesVersion version);  // "1.31"

}  // namespace weft::ctl::check
