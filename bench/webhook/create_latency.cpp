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

#include "weft/kube/client.h"

namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

int main(int argc, char** argv) {
  std::string meshed, plain, kubeconfig;
  int pods = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--meshed")
      meshed = value;
    else if (flag == "--plain")
      plain = value;
    else if (flag == "--pods")
      pods = std::clamp(std::stoi(value), 1, 2000);
    else if (flag == "--kubeconfig")
      kubeconfig = value;
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (meshed.empty() || plain.empty()) {
    std::cerr
        << "usage: webhook_create_latency --meshed NS --plain NS [--pods N] [--kubeconfig F]\n";
    return 2;
  }
  auto config = weft::kube::load_default_config(kubeconfig);
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
