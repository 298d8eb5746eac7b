#pragma once

// What one meshed namespace offers the proxies of every other: its Services
// that a client proxy can reach over mTLS at their cluster IPs. A namespace's
// document lists only its own Services with their endpoints; for another
// namespace's Service the client proxy sends to the cluster IP and kube-proxy
// picks the pod, so the proxy can expect one identity only when every ready
// endpoint of the Service is a meshed pod of one ServiceAccount. Services with
// a plain endpoint (during a rollout into the mesh, say), with endpoints of
// several ServiceAccounts, headless ones and ExternalNames are left out: their
// callers in other namespaces use plaintext, as before. Pure.

#include <map>
#include <string>
#include <vector>

#include "operator/config_builder.h"
#include "weft/proxyconfig/document.h"

namespace weft::op {

// What one namespace may put into every other namespace's document: its
// author controls it, and each entry costs every proxy of the mesh memory.
struct ExportLimits {
  std::size_t max_services = 100;  // per namespace, the first by name
  std::size_t max_ports = 16;      // per Service; a Service with more is left out
};

// The Services of `input`'s namespace that other namespaces reach over mTLS,
// sorted by name; empty when the namespace is not meshed or the mesh has no
// trust bundle. `left_out`, if given, receives how many all-meshed Services
// the limits left out.
std::vector<proxyconfig::MeshedService> exported_services(const NamespaceInput& input,
                                                          const ExportLimits& limits = {},
                                                          std::size_t* left_out = nullptr);

// Every namespace's exports but `ns`'s, sorted by (namespace, name).
std::vector<proxyconfig::MeshedService> other_namespaces(
    const std::map<std::string, std::vector<proxyconfig::MeshedService>>& exports,
    const std::string& ns);

}  // namespace weft::op
