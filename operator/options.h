#pragma once

// weft-operator's command line, in the Kubernetes style (--flag=value or
// --flag value), parsed and validated once at start-up into plain values by
// the table in options.cpp (lib/weft/flags.h has the rules).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/flags.h"
#include "weft/log.h"
#include "weft/proxyconfig/document.h"
#include "weft/result.h"
#include "weft/version.h"

namespace weft::op {

using BindAddress = flags::HostPort;  // host "0.0.0.0", "127.0.0.1", "::1"

struct OperatorOptions {
  std::string kubeconfig;  // "": in-cluster, then $KUBECONFIG, then ~/.kube/config
  // The control plane's namespace: the leader-election Lease and the trust
  // anchors ConfigMap (weft-identity-trust-anchors) are there.
  std::string lease_namespace = "weft-system";
  std::string trust_domain = "cluster.local";  // of the SPIFFE IDs in documents
  std::optional<BindAddress> metrics = BindAddress{"0.0.0.0", 8080};  // nullopt: disabled ("0")
  std::optional<BindAddress> health = BindAddress{"0.0.0.0", 8081};
  LogLevel log_level = LogLevel::kInfo;
  bool leader_elect = true;
  // Each meshed namespace's all-meshed Services go into the other namespaces'
  // documents, for mTLS across namespaces (docs/operator.md).
  bool mtls_across_namespaces = true;
  // What one namespace may add to every other namespace's document.
  int max_exported_services = 100;
  int max_exported_ports = 16;
  std::chrono::milliseconds export_propagation_interval{10'000};
  // For inbound traffic no MeshPolicy's authorization covers; a namespace's
  // annotation config.weft.io/default-inbound-policy overrides it.
  proxyconfig::DefaultInboundPolicy default_inbound_policy =
      proxyconfig::DefaultInboundPolicy::kAllUnauthenticated;
  // Proxy health (docs/operator.md, "Proxy health"): the proxy version the
  // webhook injects (its proxyVersion; "" turns the version check off), how
  // long a proxy restart keeps its pod `restarting`, at most one Event per
  // pod and reason per interval, an Event only after a pod has been in a bad
  // state for the delay, at most one summary write per namespace per interval.
  std::string proxy_version{weft::version()};
  std::chrono::milliseconds proxy_restart_window{std::chrono::minutes(10)};
  std::chrono::milliseconds proxy_event_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds proxy_event_delay{std::chrono::minutes(1)};
  std::chrono::milliseconds proxy_health_write_interval{10'000};
  // Only namespaces carrying all these labels are reconciled (empty: all).
  std::map<std::string, std::string> namespace_selector;
  int workers = 2;
  // Client-side rate limit towards the apiserver. Higher than client-go's
  // defaults: at start-up the operator writes one status per MeshRoute and
  // MeshPolicy; API Priority and Fairness still protects the server.
  double kube_api_qps = 50;
  int kube_api_burst = 100;
  bool help = false;
};

// argv without the program name. Errors name the flag.
Result<OperatorOptions> parse_options(const std::vector<std::string>& args);

// "k=v,k2=v2" (equality only, as the selectors users write on the command line).
Result<std::map<std::string, std::string>> parse_label_selector(std::string_view text);

std::string usage();

}  // namespace weft::op
