#include "weftctl/stat/stat_report.h"

#include <fmt/format.h>

#include <cmath>
#include <ostream>

#include "weftctl/output.h"

namespace weft::ctl::stat {
namespace {

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// A count that should be whole prints as one ("12", not "12.000000").
nlohmann::json count(double value) {
  if (value == std::floor(value) && std::fabs(value) < 9e15) {
    return static_cast<long long>(value);
  }
  return value;
}

std::string count_cell(double value) {
  if (value == std::floor(value)) return fmt::format("{:.0f}", value);
  return fmt::format("{:.1f}", value);
}

}  // namespace

StatReport make_report(const StatRequest& request, const StatPlan& plan,
                       const std::map<std::string, Traffic>& traffic,
                       std::chrono::duration<double> window) {
  StatReport report;
  report.kind = request.kind;
  report.all_namespaces = request.all_namespaces;
  report.window_seconds = window.count();
  report.warnings = plan.warnings;
  static const Traffic kNone;
  for (const RowSpec& spec : plan.rows) {
    const auto found = traffic.find(spec.key);
    report.rows.push_back(
        {spec, golden_metrics(found == traffic.end() ? kNone : found->second, window)});
  }
  return report;
}

std::string percent_cell(const std::optional<double>& share) {
  return share ? fmt::format("{:.2f}%", 100 * *share) : "-";
}

std::string latency_cell(const std::optional<double>& milliseconds) {
  if (!milliseconds) return "-";
  if (*milliseconds >= 100) return fmt::format("{:.0f}ms", *milliseconds);
  return fmt::format("{:.1f}ms", *milliseconds);
}

std::string rate_cell(double per_second) {
  return fmt::format("{:.1f}", per_second);
}

nlohmann::json report_json(const StatReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [spec, metrics] : report.rows) {
    nlohmann::json row = {{"namespace", spec.ns}};
    if (report.kind == StatKind::kRoute) {
      row["service"] = spec.service;
      row["route"] = spec.name;
      row["rule"] = spec.rule ? nlohmann::json(*spec.rule) : nlohmann::json(nullptr);
      row["backend"] =
          spec.backend.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec.backend);
      row["weight"] = spec.weight ? nlohmann::json(*spec.weight) : nlohmann::json(nullptr);
      row["weightShare"] = optional_number(spec.weight_share);
    } else {
      row["name"] = spec.name;
      row["pods"] = spec.pods;
      row["meshedPods"] = spec.meshed;
    }
    row["requests"] = count(metrics.requests);
    row["successes"] = count(metrics.successes);
    row["successRate"] = optional_number(metrics.success_rate);
    row["requestsPerSecond"] = metrics.requests_per_second;
    row["latencyMs"] = {{"p50", optional_number(metrics.p50_ms)},
                        {"p95", optional_number(metrics.p95_ms)},
                        {"p99", optional_number(metrics.p99_ms)}};
    if (report.kind != StatKind::kRoute) {
      row["tcpOpenConnections"] = count(metrics.tcp_open_connections);
    }
    row["mtlsShare"] = optional_number(metrics.mtls_share);
    row["identities"] = metrics.identities;
    rows.push_back(std::move(row));
  }
  return {{"windowSeconds", report.window_seconds},
          {"rows", std::move(rows)},
          {"warnings", report.warnings}};
}

void render_report_table(const StatReport& report, std::ostream& out) {
  std::vector<std::string> header;
  if (report.all_namespaces) header.push_back("NAMESPACE");
  if (report.kind == StatKind::kRoute) {
    for (const char* name : {"SERVICE", "ROUTE", "RULE", "BACKEND", "WEIGHT"}) {
      header.push_back(name);
    }
  } else {
    header.push_back("NAME");
    header.push_back("MESHED");
  }
  for (const char* name : {"SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"}) {
    header.push_back(name);
  }
  if (report.kind != StatKind::kRoute) header.push_back("TCP_CONN");
  header.push_back("MTLS");
  Table table(header);
  for (const auto& [spec, metrics] : report.rows) {
    std::vector<std::string> cells;
    if (report.all_namespaces) cells.push_back(spec.ns);
    if (report.kind == StatKind::kRoute) {
      const bool backend_row = !spec.backend.empty();
      cells.push_back(spec.service);
      cells.push_back(backend_row ? "" : spec.name);
      cells.push_back(spec.rule ? std::to_string(*spec.rule) : "");
      cells.push_back(backend_row ? spec.backend : "[all]");
      cells.push_back(
          spec.weight ? fmt::format("{} ({})", *spec.weight, percent_cell(spec.weight_share)) : "");
    } else {
      cells.push_back(spec.name);
      cells.push_back(fmt::format("{}/{}", spec.meshed, spec.pods));
    }
    cells.push_back(percent_cell(metrics.success_rate));
    cells.push_back(rate_cell(metrics.requests_per_second));
    cells.push_back(latency_cell(metrics.p50_ms));
    cells.push_back(latency_cell(metrics.p95_ms));
    cells.push_back(latency_cell(metrics.p99_ms));
    if (report.kind != StatKind::kRoute) cells.push_back(count_cell(metrics.tcp_open_connections));
    cells.push_back(percent_cell(metrics.mtls_share));
    table.add_row(std::move(cells));
  }
  if (table.empty()) {
    out << "No resources found.\n";
    return;
  }
  table.render(out);
}

}  // namespace weft::ctl::stat
