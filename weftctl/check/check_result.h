#pragma once

// What one check found: a line of `weftctl check`, in a category ("linkerd
// check" style). Checks only produce these; rendering and the exit status are
// computed from them.

#include <string>
#include <string_view>
#include <vector>

namespace weft::ctl::check {

enum class Status { kOk, kWarn, kFail };
std::string_view to_string(Status status);  // "ok", "warning", "error"

struct CheckResult {
  std::string category;  // "kubernetes-api", "weft-webhook", ...
  std::string name;      // what was checked, phrased as the healthy state
  Status status = Status::kOk;
  std::string detail;  // what was found (names, dates, versions); may be empty
  std::string hint;    // what to do about a warning or a failure; empty when ok

  bool operator==(const CheckResult&) const = default;
};

using CheckResults = std::vector<CheckResult>;

inline CheckResult ok(std::string category, std::string name, std::string detail = {}) {
  return {std::move(category), std::move(name), Status::kOk, std::move(detail), {}};
}
inline CheckResult warn(std::string category, std::string name, std::string detail,
                        std::string hint) {
  return {std::move(category), std::move(name), Status::kWarn, std::move(detail), std::move(hint)};
}
inline CheckResult fail(std::string category, std::string name, std::string detail,
                        std::string hint) {
  return {std::move(category), std::move(name), Status::kFail, std::move(detail), std::move(hint)};
}

// True when no result is a failure (warnings allowed): exit status 0.
bool healthy(const CheckResults& results);

}  // namespace weft::ctl::check
