#pragma once

// What `weftctl stat` prints: the rows with their golden metrics, as a table
// for people or JSON/YAML for machines. A figure that cannot be known (no
// request in the window) is "-" in the table and null in JSON, never 0.

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weftctl/stat/stat_plan.h"
#include "weftctl/stat/traffic_window.h"

namespace weft::ctl::stat {

struct StatReport {
  StatKind kind = StatKind::kDeploy;
  bool all_namespaces = false;  // a NAMESPACE column
  double window_seconds = 0;    // as measured between the scrapes
  struct Row {
    RowSpec spec;
    GoldenMetrics metrics;
  };
  std::vector<Row> rows;
  std::vector<std::string> warnings;
};

// The plan's rows with the traffic the scrapes found for each.
StatReport make_report(const StatRequest& request, const StatPlan& plan,
                       const std::map<std::string, Traffic>& traffic,
                       std::chrono::duration<double> window);

nlohmann::json report_json(const StatReport& report);
void render_report_table(const StatReport& report, std::ostream& out);

// Table cells: "98.50%", "12.3", "4.5ms"; "-" when unset.
std::string percent_cell(const std::optional<double>& share);
std::string latency_cell(const std::optional<double>& milliseconds);
std::string rate_cell(double per_second);

}  // namespace weft::ctl::stat
