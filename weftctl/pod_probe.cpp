#include "weftctl/pod_probe.h"

namespace weft::ctl {

std::size_t pod_answer_cap(std::string_view path, const PodProbeLimits& limits) {
  const std::string_view pod_path = path.substr(0, path.find('?'));
  return pod_path.ends_with("/version") ? kMaxPodVersionBytes : limits.max_metrics_bytes;
}

kube::RawRequest pod_probe_request(std::string path, const PodProbeLimits& limits) {
  kube::RawRequest request;
  request.max_body = pod_answer_cap(path, limits);
  request.path = std::move(path);
  request.timeout = limits.timeout;
  request.retry_throttled = false;
  return request;
}

}  // namespace weft::ctl
