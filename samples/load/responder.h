#pragma once

// Who answered: the "version" and "pod" fields of a sample app's JSON body,
// needed to observe a traffic split (versions) and which pods get traffic.
// Through a chain (web -> api -> backend) the backend's answer is nested in the
// downstream results, so a service name can be given: the first object (depth
// first) whose "name" is that service.

#include <optional>
#include <string>
#include <string_view>

namespace weft::samples {

struct Responder {
  std::optional<std::string> version;
  std::optional<std::string> pod;  // empty strings (no POD_NAME) are left out
};

// Empty service: the top-level answer. Fields that are missing or not strings,
// and bodies that are not JSON, give nothing. Never throws.
Responder find_responder(std::string_view body, std::string_view service);

}  // namespace weft::samples
