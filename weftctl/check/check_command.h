#pragma once

// `weftctl check [--pre] [--wait DURATION]`: is the mesh healthy (docs/weftctl.md).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "weftctl/check/checks.h"
#include "weftctl/check/gather.h"
#include "weftctl/check/wait.h"
#include "weftctl/context.h"

namespace weft::ctl::check {

struct CheckOptions {
  bool pre = false;
  std::optional<std::chrono::milliseconds> wait;
  std::chrono::milliseconds wait_interval{std::chrono::seconds(2)};
  std::chrono::milliseconds min_certificate_validity{std::chrono::hours(24 * 60)};
};

// Gathers, judges (again until healthy with --wait) and prints; 0 when no
// check failed, 1 otherwise.
int run_check(Context& context, const CheckOptions& options, ClusterReader& reader,
              const std::function<TimePoint()>& now, const SteadyClock& clock, const Sleep& sleep);

}  // namespace weft::ctl::check

namespace weft::ctl {
int check_command(Context& context, const std::vector<std::string>& args);
}  // namespace weft::ctl
