#pragma once

// weft-sample-app's configuration, from flags and environment variables
// (weft-sample-app --help lists them), by the table in options.cpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "samples/app/latency.h"
#include "samples/common/service_env.h"
#include "samples/common/url.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::samples {

struct AppOptions {
  std::string name = "sample-app";
  std::string version = "v1";
  std::string pod_name;  // $POD_NAME (the downward API), shown in responses
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (tests), printed in the "listening" log
  int threads = 2;
  LatencySpec latency;
  double failure_rate = 0;
  std::vector<HttpUrl> downstreams;
  std::chrono::milliseconds downstream_timeout{1000};
  // After SIGTERM: how long requests in flight may take before the process exits.
  std::chrono::milliseconds shutdown_grace{10000};
  LogLevel log_level = LogLevel::kInfo;
  bool help = false;
};

Result<AppOptions> parse_app_options(const std::vector<std::string>& args, const EnvLookup& env);
std::string app_usage();

}  // namespace weft::samples
