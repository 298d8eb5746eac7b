#pragma once

// weft-load's configuration, from flags and environment variables
// (weft-load --help lists them), by the table in options.cpp.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "samples/common/http_client.h"
#include "samples/common/service_env.h"
#include "samples/common/url.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::samples {

struct LoadOptions {
  std::vector<HttpUrl> targets;  // requests go to them in turn
  double rate = 100;             // requests per second in all; 0: as fast as concurrency allows
  // How long to send. Zero: until SIGTERM or SIGINT. Unset: 10s, unless
  // requests is set.
  std::optional<std::chrono::milliseconds> duration;
  std::optional<std::uint64_t> requests;  // stop after this many
  int concurrency = 10;                   // requests in flight at most
  HeaderList headers;
  std::chrono::milliseconds timeout{5000};  // per request
  // Count the versions and pods of this service's answers in a chain (empty:
  // of the top-level answer).
  std::string version_of;
  bool json = false;
  std::string metrics_address = "0.0.0.0";
  std::optional<std::uint16_t> metrics_port;  // serve /metrics when set (0: any free port)
  LogLevel log_level = LogLevel::kInfo;
  bool help = false;
};

Result<LoadOptions> parse_load_options(const std::vector<std::string>& args, const EnvLookup& env);
std::string load_usage();

// "Name: value" -> {name, value}; the name must be an HTTP token.
Result<std::pair<std::string, std::string>> parse_header(std::string_view text);

}  // namespace weft::samples
