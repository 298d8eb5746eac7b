#include "samples/load/tally.h"

#include <fmt/format.h>

#include "samples/app/reply.h"

namespace weft::samples {

std::string outcome_label(const CallResult& result) {
  if (result.status) return std::to_string(*result.status);
  return std::string(to_string(result.failure));
}

void Tally::record(const CallResult& result, const Responder& responder) {
  ++requests;
  if (call_succeeded(result)) ++successes;
  ++outcomes[outcome_label(result)];
  if (responder.version) ++versions[*responder.version];
  if (responder.pod) ++pods[*responder.pod];
  latencies.add(std::chrono::duration<double, std::milli>(result.latency).count());
}

double Tally::success_rate() const {
  return requests == 0 ? 0.0 : static_cast<double>(successes) / static_cast<double>(requests);
}

namespace {

std::uint64_t total(const std::map<std::string, std::uint64_t>& counts) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : counts) sum += count;
  return sum;
}

}  // namespace

std::string render_text(const Tally& tally, std::chrono::duration<double> elapsed) {
  const double seconds = elapsed.count();
  const double rate = seconds > 0 ? static_cast<double>(tally.requests) / seconds : 0;
  std::string text;
  text +=
      fmt::format("{:<14}{} in {:.1f}s ({:.1f}/s)\n", "requests", tally.requests, seconds, rate);
  text += fmt::format("{:<14}{:.2f}% ({} of {} answered 2xx)\n", "success",
                      100 * tally.success_rate(), tally.successes, tally.requests);
  std::string outcomes;
  for (const auto& [label, count] : tally.outcomes)
    outcomes += fmt::format("  {}: {}", label, count);
  text += fmt::format("{:<12}{}\n", "statuses", outcomes);
  const LatencyPercentiles p = tally.latencies.percentiles();
  text += fmt::format("{:<14}p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.2f}\n", "latency ms", p.p50,
                      p.p95, p.p99, p.max);
  const std::uint64_t versioned = total(tally.versions);
  std::string versions;
  for (const auto& [version, count] : tally.versions) {
    versions += fmt::format("  {}: {} ({:.1f}%)", version, count,
                            100.0 * static_cast<double>(count) / static_cast<double>(versioned));
  }
  text += fmt::format("{:<12}{}\n", "versions", versioned == 0 ? "  (none named)" : versions);
  std::string pods;
  for (const auto& [pod, count] : tally.pods) pods += fmt::format("  {}: {}", pod, count);
  text += fmt::format("{:<12}{}\n", "pods", tally.pods.empty() ? "  (none named)" : pods);
  return text;
}

nlohmann::ordered_json render_json(const Tally& tally, std::chrono::duration<double> elapsed) {
  const double seconds = elapsed.count();
  const LatencyPercentiles p = tally.latencies.percentiles();
  nlohmann::ordered_json out;
  out["requests"] = tally.requests;
  out["duration_s"] = seconds;
  out["rate"] = seconds > 0 ? static_cast<double>(tally.requests) / seconds : 0.0;
  out["successes"] = tally.successes;
  out["success_rate"] = tally.success_rate();
  out["statuses"] = tally.outcomes;
  out["latency_ms"] = {{"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
  out["versions"] = tally.versions;
  out["pods"] = tally.pods;
  return out;
}

}  // namespace weft::samples
