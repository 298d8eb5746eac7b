#pragma once

// `diagnose policy POD`: the MeshPolicies that hold for each of a pod's
// inbound ports and what they decide for a few clients, decided by the
// proxy's own code (proxy/authz/inbound_policy.h, compiled from the
// namespace's document and the pod's labels, as the pod's proxy compiles
// them) and with the path normalised as the proxy normalises it. Pure.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"

namespace weft::ctl::diagnose {

// A client to decide for: its SPIFFE ID ("" for plaintext), address, and
// request.
struct ProbeClient {
  std::string description{};  // "meshed, same namespace"
  std::string identity{};
  std::string address{};
  std::string method = "GET";
  std::string path = "/";
};

struct ClientDecision {
  ProbeClient client{};
  bool allowed = false;
  std::string policy{};  // the MeshPolicy, or "default:<policy>"
  std::string rule{};    // "rule-0", "default-action", "default"
  std::string reason{};  // why refused; also a 400 for a path the proxy refuses
};

struct PortPolicy {
  std::uint16_t port = 0;
  std::string mtls{};                       // "Strict" or "Permissive"
  std::optional<std::string> rate_limit{};  // "policy: 10/s, burst 20"
  // The MeshPolicies that select the pod and cover the port, in precedence
  // order, with the sections each sets ("mtls authorization").
  std::vector<std::pair<std::string, std::string>> policies{};
  std::vector<ClientDecision> decisions{};
};

struct PolicyView {
  std::string ns{};
  std::string pod{};
  std::string default_policy{};  // the namespace's default inbound policy
  std::vector<PortPolicy> ports{};
};

// "ns/sa" -> the SPIFFE ID in `trust_domain`; errors say what is wrong.
Result<std::string> identity_of(std::string_view ns_and_account, std::string_view trust_domain);

// The usual clients: meshed from the pod's namespace, meshed from another
// namespace, and unmeshed (plaintext) — each asking GET /.
std::vector<ProbeClient> typical_clients(const proxyconfig::Document& document);

// `ports`: the pod's container ports; the ports the selecting policies name
// are added. `clients`: whom to decide for.
PolicyView policy_view(const proxyconfig::Document& document, const std::string& pod,
                       const std::map<std::string, std::string>& labels,
                       std::vector<std::uint16_t> ports, const std::vector<ProbeClient>& clients);

nlohmann::json policy_json(const PolicyView& view);
void render_policy(const PolicyView& view, bool color, std::ostream& out);

}  // namespace weft::ctl::diagnose
