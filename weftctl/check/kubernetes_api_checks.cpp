// kubernetes-api: can the API server be reached, and does Weft support its version.

#include "weftctl/check/checks.h"
#include "weftctl/check/kubernetes_version.h"

namespace weft::ctl::check {

namespace {
constexpr std::string_view kCategory = "kubernetes-api";
}

CheckResults check_kubernetes_api(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;
  const Answer& answer = facts.server_version;
  if (!answer.found()) {
    results.push_back(fail(category, "can reach the API server", answer.describe(),
                           "check --kubeconfig/--context (kubectl must work with the same "
                           "ones: kubectl version)"));
    return results;
  }
  results.push_back(ok(category, "can reach the API server"));

  const std::string git_version = text_at(answer.body, "/gitVersion");
  const auto version = parse_kubernetes_version(git_version);
  const std::string range =
      to_string(kOldestSupported) + " to " + to_string(kNewestTested) + " (tested)";
  const std::string name = "the API server's version is supported";
  if (!version) {
    results.push_back(warn(category, name, "cannot read a version from '" + git_version + "'",
                           "Weft supports Kubernetes " + range));
  } else if (*version < kOldestSupported) {
    results.push_back(fail(category, name,
                           git_version + ": Weft needs Kubernetes " + to_string(kOldestSupported) +
                               " or newer (the CRDs' validation rules use CEL's CIDR library)",
                           "upgrade the cluster to Kubernetes " + range));
  } else if (*version > kNewestTested) {
    results.push_back(warn(category, name,
                           git_version + " is newer than Weft was tested with (" + range + ")",
                           "it should work; report anything odd with the version"));
  } else {
    results.push_back(ok(category, name, git_version));
  }
  return results;
}

}  // namespace weft::ctl::check
