#pragma once

// The results of `weftctl check`, for people (a checklist by category, ✓ ‼ ×
// with what was found and a hint under each warning and failure) and for
// machines (-o json|yaml: every result, the ok ones' details included).

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "weftctl/check/check_result.h"

namespace weft::ctl::check {

void render_checklist(std::ostream& out, const CheckResults& results, bool color);

// {"success": bool, "categories": [{"name", "checks": [{"name", "result":
// "ok|warning|error", "detail", "hint"}]}]}
nlohmann::json results_json(const CheckResults& results);

}  // namespace weft::ctl::check
