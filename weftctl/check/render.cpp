#include "weftctl/check/render.h"

#include <ostream>

#include "weftctl/output.h"

namespace weft::ctl::check {

namespace {

std::string mark(Status status, bool color) {
  switch (status) {
    case Status::kOk:
      return mark_ok(color);
    case Status::kWarn:
      return mark_warn(color);
    case Status::kFail:
      return mark_fail(color);
  }
  return mark_fail(color);
}

}  // namespace

void render_checklist(std::ostream& out, const CheckResults& results, bool color) {
  std::string category;
  std::size_t warnings = 0;
  std::size_t failures = 0;
  for (const CheckResult& result : results) {
    if (result.category != category) {
      if (!category.empty()) out << "\n";
      category = result.category;
      out << category << "\n" << std::string(category.size(), '-') << "\n";
    }
    out << mark(result.status, color) << " " << terminal_safe(result.name) << "\n";
    if (result.status == Status::kOk) continue;
    (result.status == Status::kWarn ? warnings : failures) += 1;
    if (!result.detail.empty()) out << "    " << terminal_safe(result.detail) << "\n";
    if (!result.hint.empty()) out << "    hint: " << terminal_safe(result.hint) << "\n";
  }
  if (!category.empty()) out << "\n";
  if (failures > 0) {
    out << "Status check results are " << mark_fail(color) << " (" << failures << " failed"
        << (warnings > 0 ? ", " + std::to_string(warnings) + " warning(s)" : "") << ")\n";
  } else {
    out << "Status check results are " << mark_ok(color)
        << (warnings > 0 ? " (" + std::to_string(warnings) + " warning(s))" : "") << "\n";
  }
}

nlohmann::json results_json(const CheckResults& results) {
  nlohmann::json categories = nlohmann::json::array();
  for (const CheckResult& result : results) {
    if (categories.empty() || categories.back()["name"] != result.category) {
      categories.push_back({{"name", result.category}, {"checks", nlohmann::json::array()}});
    }
    categories.back()["checks"].push_back({{"name", result.name},
                                           {"result", std::string(to_string(result.status))},
                                           {"detail", result.detail},
                                           {"hint", result.hint}});
  }
  return {{"success", healthy(results)}, {"categories", std::move(categories)}};
}

}  // namespace weft::ctl::check
