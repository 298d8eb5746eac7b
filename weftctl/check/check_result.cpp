#include "weftctl/check/check_result.h"

#include <algorithm>

namespace weft::ctl::check {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kWarn:
      return "warning";
    case Status::kFail:
      return "error";
  }
  return "error";
}

bool healthy(const CheckResults& results) {
  return std::none_of(results.begin(), results.end(),
                      [](const CheckResult& r) { return r.status == Status::kFail; });
}

}  // namespace weft::ctl::check
