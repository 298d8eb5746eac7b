#pragma once

// One accepted configuration document, compiled for lookups: the Service of a
// destination address, the route matches with their regular expressions built,
// and endpoint addresses parsed. Immutable once built and shared by pointer:
// a reload swaps the pointer, requests in flight keep the snapshot they started
// with (Envoy's FilterConfig pattern).

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proxy/core/asio.h"
#include "weft/proxyconfig/document.h"
#include "weft/proxyconfig/parse.h"
#include "weft/proxyconfig/route_regex.h"
#include "weft/result.h"

namespace weft::proxy {

struct CompiledMatch {
  const proxyconfig::RouteMatch* match = nullptr;
  std::optional<proxyconfig::RouteRegex> path;                  // for RegularExpression paths
  std::vector<std::optional<proxyconfig::RouteRegex>> headers;  // parallel to match->headers
  std::vector<std::optional<proxyconfig::RouteRegex>> query_params;
};

// One port of one Service: what an outbound destination resolves to.
struct ServiceTarget {
  const proxyconfig::Service* service = nullptr;
  const proxyconfig::ServicePort* port = nullptr;
  std::string label;  // "name:port", the target_service metric label
  std::vector<CompiledMatch> matches;
  std::vector<tcp::endpoint> endpoints;  // parallel to port->endpoints
};

// One port of a meshed Service of another namespace (outbound.otherNamespaces).
struct OtherNamespaceTarget {
  const proxyconfig::MeshedService* service = nullptr;
  std::string label;  // "name.namespace:port", the target_service metric label
};

class Snapshot {
 public:
  // Compiles a parsed document. Fails (and nothing changes) on a regular
  // expression RE2 refuses or an unparsable address.
  static Result<std::shared_ptr<const Snapshot>> build(proxyconfig::ParsedDocument parsed,
                                                       std::string text);
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const proxyconfig::Document& document() const { return document_; }
  const std::string& hash() const { return hash_; }
  const std::string& text() const { return text_; }  // the document as received

  // The Service port a connection to this address (a cluster IP) is for.
  const ServiceTarget* find_by_destination(const tcp::endpoint& destination) const;
  const ServiceTarget* find_by_name(const std::string& service, std::uint16_t port) const;
  // The Service port an endpoint (a pod address and target port) serves; the
  // first by Service name when several do.
  const ServiceTarget* find_by_endpoint(const tcp::endpoint& endpoint) const;
  const std::vector<ServiceTarget>& targets() const { return targets_; }
  // A meshed Service of another namespace at this address (a cluster IP and
  // Service port), reached over mTLS; a Service of this document wins.
  const OtherNamespaceTarget* find_other_namespace(const tcp::endpoint& destination) const;
  const std::map<tcp::endpoint, OtherNamespaceTarget>& other_namespaces() const {
    return other_namespaces_;
  }
  // The SPIFFE ID a connection to this address must prove: a meshed endpoint
  // of a Service here, or a meshed Service of another namespace; empty when
  // the document knows it as plain or not at all (plaintext). A try asks the
  // snapshot that chose its endpoint, so that a newer document (the endpoint
  // gone, or not yet seen by another part of the proxy) cannot make it plain.
  std::string_view identity_of(const tcp::endpoint& address) const;
  // The server at this address treats its port as opaque (Endpoint::opaque):
  // an endpoint address whose pod's proxy does, a Service port here without
  // routes all of whose endpoints do, or an opaque port of a meshed Service of another
  // namespace (one such pod is enough there: kube-proxy picks). Connections
  // to it go as TCP; and no request is carried as HTTP/2 to an endpoint
  // that treats its port so (a Service with routes, or with other endpoints
  // too, keeps its detection and routes; its requests reach those endpoints
  // as HTTP/1.1).
  bool opaque_at_server(const tcp::endpoint& address) const {
    return !opaque_at_server_.empty() && opaque_at_server_.contains(address);
  }

 private:
  Snapshot() = default;

  proxyconfig::Document document_;
  std::string hash_;
  std::string text_;
  std::vector<ServiceTarget> targets_;
  std::map<tcp::endpoint, std::size_t> by_destination_;
  std::map<std::pair<std::string, std::uint16_t>, std::size_t> by_name_;
  std::map<tcp::endpoint, std::size_t> by_endpoint_;
  std::map<tcp::endpoint, OtherNamespaceTarget> other_namespaces_;
  std::map<tcp::endpoint, std::string_view> identities_;  // into document_
  std::set<tcp::endpoint> opaque_at_server_;
};

}  // namespace weft::proxy
