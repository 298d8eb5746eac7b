#include "operator/options.h"

#include <fmt/format.h>

#include "operator/default_inbound_policy.h"
#include "weft/identity/spiffe_id.h"

namespace weft::op {
namespace {

Result<std::string> parse_trust_domain(std::string_view text) {
  if (auto valid = identity::check_trust_domain(text); !valid) return valid.error();
  return std::string(text);
}

Result<proxyconfig::DefaultInboundPolicy> parse_default_policy_flag(std::string_view text) {
  if (auto policy = parse_default_inbound_policy(text)) return *policy;
  return Error{fmt::format(
      "{:?} is not all-unauthenticated, all-authenticated, same-namespace or deny", text)};
}

// ":8080" (all interfaces), "127.0.0.1:8080", "[::1]:8080"; "0" disables.
constexpr flags::HostPortRules kBindAddress{
    .ip_literal = false, .empty_host_is_any = true, .min_port = 0};

const flags::Program<OperatorOptions>& program() {
  using O = OperatorOptions;
  static const flags::Program<O> table{
      .usage = "Usage: weft-operator [flags]",
      .about =
          "Reconciles MeshRoutes, MeshPolicies, Services and EndpointSlices into one\n"
          "weft-proxy-config ConfigMap per namespace labelled weft.io/inject=enabled.",
      .flags =
          {
              flags::text("kubeconfig", &O::kubeconfig, "kubeconfig file")
                  .value_name("PATH")
                  .shown_default("in-cluster configuration, then $KUBECONFIG, then ~/.kube/config"),
              flags::text("namespace", &O::lease_namespace,
                          "namespace of the control plane: the leader-election Lease and\n"
                          "the trust anchors ConfigMap weft-identity-trust-anchors",
                          flags::TextRule::kNonEmpty)
                  .value_name("NAME"),
              flags::custom("trust-domain", &O::trust_domain, parse_trust_domain,
                            "SPIFFE trust domain of the identities written into proxy\n"
                            "documents; the same as weft-identity's")
                  .value_name("DOMAIN")
                  .shown_default("cluster.local"),
              flags::host_port("metrics-bind-address", &O::metrics,
                               "where /metrics is served, \"0\" disables", kBindAddress, "0")
                  .value_name("ADDR"),
              flags::host_port("health-probe-bind-address", &O::health,
                               "where /healthz and /readyz are served", kBindAddress, "0")
                  .value_name("ADDR"),
              flags::log_level("log-level", &O::log_level, "debug, info, warn or error"),
              flags::boolean("leader-elect", &O::leader_elect,
                             "run leader election; false: this process writes\n"
                             "unconditionally (single replica only)")
                  .value_name("BOOL"),
              flags::boolean("mtls-across-namespaces", &O::mtls_across_namespaces,
                             "list each meshed namespace's all-meshed Services (name,\n"
                             "cluster IPs, ServiceAccount) in the other meshed namespaces'\n"
                             "documents, so that calls across namespaces use mTLS")
                  .value_name("BOOL"),
              flags::integer("max-exported-services", &O::max_exported_services, 0, 100000,
                             "all-meshed Services of one namespace listed in the other\n"
                             "namespaces' documents, the first by name (0: none)"),
              flags::integer("max-exported-ports", &O::max_exported_ports, 1, 65535,
                             "a Service with more ports is not listed in the other\n"
                             "namespaces' documents"),
              flags::duration("export-propagation-interval", &O::export_propagation_interval,
                              "at most one propagation of a namespace's exported Services\n"
                              "to the other namespaces' documents per interval (the first\n"
                              "change at once, later ones at its end)"),
              flags::custom("default-inbound-policy", &O::default_inbound_policy,
                            parse_default_policy_flag,
                            "what proxies decide for inbound traffic no MeshPolicy's\n"
                            "authorization covers: all-unauthenticated, all-authenticated,\n"
                            "same-namespace or deny; a namespace's annotation\n"
                            "config.weft.io/default-inbound-policy overrides it")
                  .value_name("POLICY")
                  .shown_default("all-unauthenticated"),
              flags::text("proxy-version", &O::proxy_version,
                          "the proxy version the webhook injects (its proxyVersion);\n"
                          "pods recording another are version_skew (\"\": no check)")
                  .value_name("VERSION"),
              flags::duration("proxy-restart-window", &O::proxy_restart_window,
                              "a meshed pod is restarting for this long after its proxy\n"
                              "container's restart count grew"),
              flags::duration("proxy-event-interval", &O::proxy_event_interval,
                              "at most one proxy health Event per pod and reason per interval"),
              flags::duration("proxy-event-delay", &O::proxy_event_delay,
                              "a proxy health Event is raised once a pod has been in a bad\n"
                              "state this long (a pod starting up raises none)"),
              flags::duration("proxy-health-write-interval", &O::proxy_health_write_interval,
                              "at most one write of a namespace's weft-proxy-health summary\n"
                              "per interval (the first change at once, later ones at its end)"),
              flags::integer("workers", &O::workers, 1, 64,
                             "namespaces reconciled in parallel, 1 to 64"),
              flags::custom("namespace-selector", &O::namespace_selector, parse_label_selector,
                            "reconcile only namespaces with these labels")
                  .value_name("K=V[,K=V]")
                  .shown_default("all"),
              flags::integer("kube-api-qps", &O::kube_api_qps, 1, 10000,
                             "client-side rate limit, requests per second"),
              flags::integer("kube-api-burst", &O::kube_api_burst, 1, 10000, "client-side burst"),
          },
      .footer =
          "ADDR is HOST:PORT, :PORT (every interface) or [IPv6]:PORT; port 0 picks a free "
          "port.\n",
  };
  return table;
}

}  // namespace

std::string usage() {
  return flags::usage(program());
}

Result<std::map<std::string, std::string>> parse_label_selector(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto comma = text.find(',', start);
    const std::string item(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || item.find('=', eq + 1) != std::string::npos ||
        item.find_first_of("!() ") != std::string::npos) {
      return Error{fmt::format("{:?}: expected key=value[,key=value]", text)};
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<OperatorOptions> parse_options(const std::vector<std::string>& args) {
  // No environment: the operator is configured by its args alone.
  auto parsed = flags::parse(program(), args);
  if (!parsed) return parsed.error();
  parsed->options.help = parsed->help;
  return std::move(parsed->options);
}

}  // namespace weft::op
