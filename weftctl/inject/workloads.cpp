#include "weftctl/inject/workloads.h"

#include <array>

namespace weft::ctl::inject {
namespace {

struct Workload {
  std::string_view group;  // the API group of apiVersion, "" for core
  std::string_view kind;
  std::string_view pointer;
};

// extensions/ and apps/v1beta* hold the old versions of the apps kinds.
constexpr std::array kWorkloads = {
    Workload{"", "Pod", ""},
    Workload{"", "ReplicationController", "/spec/template"},
    Workload{"apps", "Deployment", "/spec/template"},
    Workload{"apps", "StatefulSet", "/spec/template"},
    Workload{"apps", "DaemonSet", "/spec/template"},
    Workload{"apps", "ReplicaSet", "/spec/template"},
    Workload{"extensions", "Deployment", "/spec/template"},
    Workload{"extensions", "DaemonSet", "/spec/template"},
    Workload{"extensions", "ReplicaSet", "/spec/template"},
    Workload{"batch", "Job", "/spec/template"},
    Workload{"batch", "CronJob", "/spec/jobTemplate/spec/template"},
};

std::string_view group_of(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view{} : api_version.substr(0, slash);
}

}  // namespace

std::optional<std::string> pod_template_pointer(std::string_view api_version,
                                                std::string_view kind) {
  const auto group = group_of(api_version);
  for (const auto& workload : kWorkloads) {
    if (workload.kind == kind && workload.group == group) return std::string(workload.pointer);
  }
  return std::nullopt;
}

bool is_list_kind(std::string_view kind) {
  return kind.ends_with("List");
}

}  // namespace weft::ctl::inject
