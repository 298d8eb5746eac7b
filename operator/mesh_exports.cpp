#include "operator/mesh_exports.h"

#include <algorithm>
#include <tuple>

namespace weft::op {

namespace pc = weft::proxyconfig;

std::vector<pc::MeshedService> exported_services(const NamespaceInput& input,
                                                 const ExportLimits& limits,
                                                 std::size_t* left_out) {
  std::vector<pc::MeshedService> out;
  if (left_out != nullptr) *left_out = 0;
  if (!input.meshed() || !input.identity.config) return out;
  std::size_t over_limits = 0;
  for (const auto& service : input.services) {
    if (service->type == "ExternalName" || service->cluster_ips.empty()) continue;
    pc::MeshedService exported{.ns = input.ns,
                               .name = service->meta.name,
                               .cluster_ips = service->cluster_ips,
                               .ports = {},
                               .identity = {}};
    bool usable = true;
    for (const auto& port : service->ports) {
      if (port.protocol != "TCP") continue;
      const auto endpoints = ready_endpoints(*service, port, input);
      for (const auto& endpoint : endpoints) {
        // A plain endpoint, or a second identity: a client proxy could not
        // tell which one kube-proxy will pick.
        if (endpoint.identity.empty() ||
            (!exported.identity.empty() && endpoint.identity != exported.identity)) {
          usable = false;
          break;
        }
        exported.identity = endpoint.identity;
      }
      if (!usable) break;
      if (endpoints.empty()) continue;
      exported.ports.push_back(port.port);
      // kube-proxy may pick any of them: one opaque pod makes the port opaque.
      if (std::any_of(endpoints.begin(), endpoints.end(),
                      [](const pc::Endpoint& endpoint) { return endpoint.opaque; })) {
        exported.opaque_ports.push_back(port.port);
      }
    }
    if (!usable || exported.ports.empty()) continue;
    if (exported.ports.size() > limits.max_ports) {
      ++over_limits;
      continue;
    }
    std::sort(exported.ports.begin(), exported.ports.end());
    std::sort(exported.opaque_ports.begin(), exported.opaque_ports.end());
    out.push_back(std::move(exported));
  }
  std::sort(out.begin(), out.end(),
            [](const pc::MeshedService& a, const pc::MeshedService& b) { return a.name < b.name; });
  if (out.size() > limits.max_services) {
    over_limits += out.size() - limits.max_services;
    out.resize(limits.max_services);
  }
  if (left_out != nullptr) *left_out = over_limits;
  return out;
}

std::vector<pc::MeshedService> other_namespaces(
    const std::map<std::string, std::vector<pc::MeshedService>>& exports, const std::string& ns) {
  std::vector<pc::MeshedService> out;
  for (const auto& [name, services] : exports) {
    if (name != ns) out.insert(out.end(), services.begin(), services.end());
  }
  std::sort(out.begin(), out.end(), [](const pc::MeshedService& a, const pc::MeshedService& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  return out;
}

}  // namespace weft::op
