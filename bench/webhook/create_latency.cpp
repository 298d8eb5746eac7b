// The latency weft-webhook adds to pod creation through the real API server:
// creates N pods alternately in a namespace the webhook serves and in one it
// does not, and compares the create() round trips. Bounded: N pods each, then
// they are deleted.
//
//   webhook_create_latency --meshed NS --plain NS [--pods 200] [--kubeconfig FILE]

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "weft/flags.h"
#include "weft/kube/client.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace flags = weft::flags;

nlohmann::json pod(const std::string& ns, const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"containers", nlohmann::json::array({{{"name", "app"}, {"image", "busybox:1.36"}}})}}}};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

struct Options {
  std::string meshed, plain, kubeconfig;
  int pods = 200;
};

const flags::Program<Options>& program() {
  using O = Options;
  static const flags::Program<O> table{
      .usage = "Usage: webhook_create_latency --meshed NS --plain NS [flags]",
      .about =
          "Creates pods alternately in a namespace weft-webhook serves and in one it does\n"
          "not, compares the create() round trips, then deletes the pods.",
      .flags =
          {
              flags::text("meshed", &O::meshed, "namespace the webhook serves (required)",
                          flags::TextRule::kNonEmpty)
                  .value_name("NS"),
              flags::text("plain", &O::plain, "namespace it does not serve (required)",
                          flags::TextRule::kNonEmpty)
                  .value_name("NS"),
              flags::integer("pods", &O::pods, 1, 2000, "pods in each namespace"),
              flags::text("kubeconfig", &O::kubeconfig,
                          "kubeconfig file (default: found as kubectl finds it)")
                  .value_name("FILE"),
          },
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = flags::parse(program(), {argv + 1, argv + argc});
  if (!parsed) {
    std::cerr << "webhook_create_latency: " << parsed.error().message << " (see --help)\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << flags::usage(program());
    return 0;
  }
  const std::string& meshed = parsed->options.meshed;
  const std::string& plain = parsed->options.plain;
  const int pods = parsed->options.pods;
  if (meshed.empty() || plain.empty()) {
    std::cerr << "webhook_create_latency: --meshed and --plain are required (see --help)\n";
    return 2;
  }
  auto config = weft::kube::load_default_config(parsed->options.kubeconfig);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return 1;
  }
  auto client = weft::kube::Client::from_config(*config);
  if (!client) {
    std::cerr << client.error().message << "\n";
    return 1;
  }
  const auto& pods_type = weft::kube::resources::pods();
  std::vector<double> meshed_ms, plain_ms;
  int injected = 0;
  for (int i = 0; i < pods + 5; ++i) {  // the first 5 of each warm up connections
    for (const auto& [ns, samples] : {std::pair{meshed, &meshed_ms}, std::pair{plain, &plain_ms}}) {
      const auto start = Clock::now();
      auto created = (*client)->create(pods_type, pod(ns, "bench-" + std::to_string(i)));
      const std::chrono::duration<double, std::milli> took = Clock::now() - start;
      if (!created) {
        std::cerr << created.error().message << "\n";
        return 1;
      }
      if (ns == meshed && created->dump().find("weft-proxy") != std::string::npos) ++injected;
      if (i >= 5) samples->push_back(took.count());
    }
  }
  for (const auto& ns : {meshed, plain}) {
    for (int i = 0; i < pods + 5; ++i) {
      (void)(*client)->remove(pods_type, ns, "bench-" + std::to_string(i));
    }
  }
  std::cout << "pods=" << pods << " injected=" << injected << "\n"
            << "meshed (webhook) p50_ms=" << percentile(meshed_ms, 0.5)
            << " p99_ms=" << percentile(meshed_ms, 0.99) << "\n"
            << "plain (no webhook) p50_ms=" << percentile(plain_ms, 0.5)
            << " p99_ms=" << percentile(plain_ms, 0.99) << "\n"
            << "added p50_ms=" << percentile(meshed_ms, 0.5) - percentile(plain_ms, 0.5) << "\n";
  return injected == pods + 5 ? 0 : 1;
}
