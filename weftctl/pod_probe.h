#pragma once

// Asking a pod something through the API server's pod proxy (/version,
// /metrics). The answer is the pod's, and a pod author can make a pod look
// meshed: it is bounded in time and size, and its 429 is not the API server
// throttling, so it is not retried.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "weft/kube/client.h"

namespace weft::ctl {

// --pod-timeout: the whole exchange with one pod.
inline constexpr std::chrono::milliseconds kDefaultPodTimeout{5000};
// A proxy's /version is a few hundred bytes.
inline constexpr std::size_t kMaxPodVersionBytes = 16 * 1024;
// --max-metrics-bytes: a proxy's /metrics has a few thousand series, well
// under a MiB.
inline constexpr std::size_t kDefaultMaxMetricsBytes = 8 * 1024 * 1024;

struct PodProbeLimits {
  std::chrono::milliseconds timeout = kDefaultPodTimeout;
  std::size_t max_metrics_bytes = kDefaultMaxMetricsBytes;  // any path but /version
};

// The cap for a pod proxy path: /version's, else the limit for /metrics.
std::size_t pod_answer_cap(std::string_view path, const PodProbeLimits& limits);

// A GET of `path` (the API path of the pod proxy, with the pod's path after
// /proxy) with those bounds.
kube::RawRequest pod_probe_request(std::string path, const PodProbeLimits& limits);

}  // namespace weft::ctl
