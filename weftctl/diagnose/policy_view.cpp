#include "weftctl/diagnose/policy_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <ostream>
#include <set>

#include "proxy/authz/inbound_policy.h"
#include "proxy/request/path.h"
#include "weft/identity/spiffe_id.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/label_selector.h"
#include "weftctl/output.h"

namespace weft::ctl::diagnose {
namespace {

namespace pc = proxyconfig;

std::string trust_domain_of(const pc::Document& document) {
  return document.identity ? document.identity->trust_domain
                           : std::string(identity::kDefaultTrustDomain);
}

std::string sections_of(const pc::InboundPolicy& policy) {
  std::vector<std::string> sections;
  if (policy.mtls) sections.push_back("mtls");
  if (policy.authorization) sections.push_back("authorization");
  if (policy.rate_limit) sections.push_back("rateLimit");
  std::string text;
  for (const auto& section : sections) text += (text.empty() ? "" : " ") + section;
  return text.empty() ? "(no section)" : text;
}

ClientDecision decide(const proxy::authz::InboundPolicies& policies, std::uint16_t port,
                      const ProbeClient& client) {
  ClientDecision decision{.client = client};
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(client.address, error);
  std::string normalised;
  const auto normalisation = proxy::normalize_path(client.path, normalised);
  if (error || normalisation.verdict == proxy::PathNormalization::Verdict::kRefused) {
    decision.allowed = false;
    decision.reason = error ? fmt::format("{:?} is not an IP address", client.address)
                            : fmt::format("the proxy answers 400: {}", normalisation.reason);
    return decision;
  }
  const std::string_view path =
      normalisation.verdict == proxy::PathNormalization::Verdict::kNormalized ? normalised
                                                                              : client.path;
  const auto decided = policies.decide(port, {.identity = client.identity, .address = address},
                                       {.method = client.method, .path = path});
  decision.allowed = decided.allowed;
  decision.policy = std::string(decided.policy);
  decision.rule = std::string(decided.rule);
  decision.reason = std::string(decided.reason);
  return decision;
}

}  // namespace

Result<std::string> identity_of(std::string_view ns_and_account, std::string_view trust_domain) {
  const std::size_t slash = ns_and_account.find('/');
  if (slash == std::string_view::npos) {
    return Error{fmt::format("{:?} is not NAMESPACE/SERVICEACCOUNT", std::string(ns_and_account))};
  }
  auto made = identity::make_identity(trust_domain, ns_and_account.substr(0, slash),
                                      ns_and_account.substr(slash + 1));
  if (!made) return made.error();
  return made->uri();
}

std::vector<ProbeClient> typical_clients(const pc::Document& document) {
  const std::string domain = trust_domain_of(document);
  // (Documentation addresses, RFC 5737: no real client has them.)
  return {
      {.description = "meshed, same namespace (sa default)",
       .identity = fmt::format("spiffe://{}/ns/{}/sa/default", domain, document.ns),
       .address = "192.0.2.10"},
      {.description = "meshed, another namespace",
       .identity = fmt::format("spiffe://{}/ns/another-namespace/sa/default", domain),
       .address = "192.0.2.11"},
      {.description = "unmeshed (plaintext)", .identity = "", .address = "198.51.100.7"},
  };
}

PolicyView policy_view(const pc::Document& document, const std::string& pod,
                       const std::map<std::string, std::string>& labels,
                       std::vector<std::uint16_t> ports, const std::vector<ProbeClient>& clients) {
  PolicyView view;
  view.ns = document.ns;
  view.pod = pod;
  view.default_policy = std::string(pc::to_string(document.inbound.default_policy));
  const proxy::authz::PodLabels pod_labels(labels.begin(), labels.end());
  const auto policies = proxy::authz::InboundPolicies::compile(document, pod_labels);
  for (const pc::InboundPolicy& policy : document.inbound.policies) {
    if (!pc::selector_matches(policy.pod_selector, labels)) continue;
    ports.insert(ports.end(), policy.ports.begin(), policy.ports.end());
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  for (const std::uint16_t port : ports) {
    PortPolicy row;
    row.port = port;
    row.mtls = std::string(pc::to_string(policies->mtls_mode(port)));
    if (const auto* limit = policies->rate_limit(port)) {
      row.rate_limit = fmt::format("{}: {}/s, burst {}", limit->policy,
                                   limit->limit.requests_per_second, limit->limit.burst);
    }
    for (const pc::InboundPolicy& policy : document.inbound.policies) {
      const bool covers = policy.ports.empty() ||
                          std::binary_search(policy.ports.begin(), policy.ports.end(), port);
      if (covers && pc::selector_matches(policy.pod_selector, labels)) {
        row.policies.emplace_back(policy.name, sections_of(policy));
      }
    }
    for (const ProbeClient& client : clients)
      row.decisions.push_back(decide(*policies, port, client));
    view.ports.push_back(std::move(row));
  }
  return view;
}

nlohmann::json policy_json(const PolicyView& view) {
  nlohmann::json ports = nlohmann::json::array();
  for (const PortPolicy& port : view.ports) {
    nlohmann::json policies = nlohmann::json::array();
    for (const auto& [name, sections] : port.policies) {
      policies.push_back({{"name", name}, {"sections", sections}});
    }
    nlohmann::json decisions = nlohmann::json::array();
    for (const ClientDecision& decision : port.decisions) {
      decisions.push_back({{"client", decision.client.description},
                           {"identity", decision.client.identity},
                           {"address", decision.client.address},
                           {"method", decision.client.method},
                           {"path", decision.client.path},
                           {"allowed", decision.allowed},
                           {"policy", decision.policy},
                           {"rule", decision.rule},
                           {"reason", decision.reason}});
    }
    ports.push_back({{"port", port.port},
                     {"mtls", port.mtls},
                     {"rateLimit",
                      port.rate_limit ? nlohmann::json(*port.rate_limit) : nlohmann::json(nullptr)},
                     {"policies", std::move(policies)},
                     {"decisions", std::move(decisions)}});
  }
  return {{"namespace", view.ns},
          {"pod", view.pod},
          {"defaultPolicy", view.default_policy},
          {"ports", std::move(ports)}};
}

void render_policy(const PolicyView& view, bool color, std::ostream& out) {
  out << fmt::format("pod {}/{}: default inbound policy {}\n", view.ns, view.pod,
                     view.default_policy);
  if (view.ports.empty()) {
    out << "no inbound port: the pod declares no container port and no policy names one\n";
  }
  for (const PortPolicy& port : view.ports) {
    out << fmt::format("\nport {}: mTLS {}, rate limit {}\n", port.port, port.mtls,
                       port.rate_limit.value_or("none"));
    if (port.policies.empty()) {
      out << "  no MeshPolicy selects the pod on this port\n";
    }
    for (const auto& [name, sections] : port.policies) {
      out << fmt::format("  MeshPolicy {} ({})\n", name, sections);
    }
    Table table({"   ", "CLIENT", "REQUEST", "DECIDED BY", "WHY"});
    for (const ClientDecision& decision : port.decisions) {
      const std::string who =
          decision.client.identity.empty()
              ? fmt::format("{} {}", decision.client.description, decision.client.address)
              : fmt::format("{} {}", decision.client.description, decision.client.identity);
      table.add_row({"  " + (decision.allowed ? mark_ok(color) : mark_fail(color)), who,
                     decision.client.method + " " + decision.client.path,
                     decision.policy.empty() ? "-" : decision.policy + " " + decision.rule,
                     decision.allowed ? "allowed" : decision.reason});
    }
    table.render(out);
  }
}

}  // namespace weft::ctl::diagnose
