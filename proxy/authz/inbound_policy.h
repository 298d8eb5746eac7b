#pragma once

// Who may call this pod: the server side of the MeshPolicies (mtls,
// authorization, rateLimit) compiled for one pod, from its namespace's
// document and its own labels, into a per-port table the request path reads
// without allocating. Pure: compile() and decide() only read their arguments.
//
// For each inbound (target) port and each section, the policy that holds is the
// first of Inbound::policies (precedence order) that selects the pod by its
// labels, covers the port (empty ports: every port) and sets that section.
// A port no policy's `authorization` covers falls back to the document's
// DefaultInboundPolicy.

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/authz/pod_labels.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy::authz {

// What is known of the client when a decision is made. `identity` is the
// client's SPIFFE ID when it came over mTLS (verified by the handshake),
// empty for plaintext.
struct Client {
  std::string_view identity;
  boost::asio::ip::address address;
};

// What an HTTP request asks. `path` is the normalised path (proxy/request/path.h)
// without the query: never decide on a raw path.
struct HttpRequest {
  std::string_view method;
  std::string_view path;
};

// Labels of the decision, for metrics and logs. Views into the compiled
// policies (valid while the InboundPolicies lives).
//  - policy: the MeshPolicy's name, or "default:<word>" (the default inbound
//    policy, e.g. "default:deny");
//  - rule: "rule-<n>" (0-based index of the allow rule that matched),
//    "default-action" (no rule matched: the policy's defaultAction),
//    or "default" (decided by the default inbound policy).
struct Decision {
  bool allowed = true;
  std::string_view policy;
  std::string_view rule;
  // Set when denied: a short phrase for the 403 body and the log, e.g. "no
  // rule of the authorization policy allows it", "the default inbound policy
  // does not allow it".
  std::string_view reason;
};

// The rate limit that holds for a port, if any (bucket key: policy + client).
struct PortRateLimit {
  std::string_view policy;  // the MeshPolicy's name
  proxyconfig::RateLimit limit;
};

class InboundPolicies {
 public:
  // With no document yet: everything allowed, Permissive, no rate limit.
  InboundPolicies();
  // The namespace for same-namespace is the document's; identities are
  // matched on their namespace and ServiceAccount (a client of another trust
  // domain never gets here: the handshake refuses it).
  static std::shared_ptr<const InboundPolicies> compile(const proxyconfig::Document& document,
                                                        const PodLabels& labels);

  proxyconfig::MtlsMode mtls_mode(std::uint16_t port) const;
  // nullptr when no policy sets rateLimit for the port.
  const PortRateLimit* rate_limit(std::uint16_t port) const;

  // An HTTP request to `port`.
  Decision decide(std::uint16_t port, const Client& client, const HttpRequest& request) const;
  // How a connection came to be opaque TCP: its port is declared opaque, or
  // its first bytes were not HTTP, or did not come within the detection
  // timeout, on a port that is not.
  enum class Opaque { kDeclared, kUndetected };
  // An opaque TCP connection to `port`: only rules without `to` can allow it
  // (paths and methods cannot match a connection). A rate limit counts
  // requests, so on a port it covers an undetected connection is refused
  // (rule "http-only"): a client could otherwise stay silent past detection
  // and send any number of requests through one token. A server-first or
  // other protocol there needs its port declared opaque (then a connection
  // takes one token).
  Decision decide_connection(std::uint16_t port, const Client& client, Opaque opaque) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace weft::proxy::authz
