#include "proxy/config/snapshot.h"

#include <algorithm>

namespace weft::proxy {
namespace {

// Regular expressions come from MeshRoutes, checked by the operator with the
// same RE2 compile; a document written otherwise may still hold one RE2
// refuses, which refuses the document (the last good one stays).
Result<std::optional<proxyconfig::RouteRegex>> compile(proxyconfig::ValueMatchType type,
                                                       const std::string& pattern,
                                                       const std::string& where) {
  using Compiled = std::optional<proxyconfig::RouteRegex>;
  if (type != proxyconfig::ValueMatchType::kRegularExpression) return Compiled{};
  auto regex = proxyconfig::RouteRegex::compile(pattern);
  if (!regex) return Error{where + ": " + regex.error().message};
  return Compiled(std::move(*regex));
}

}  // namespace

Result<std::shared_ptr<const Snapshot>> Snapshot::build(proxyconfig::ParsedDocument parsed,
                                                        std::string text) {
  std::shared_ptr<Snapshot> snapshot(new Snapshot());
  snapshot->document_ = std::move(parsed.document);
  snapshot->hash_ = std::move(parsed.hash);
  snapshot->text_ = std::move(text);
  const auto& services = snapshot->document_.outbound.services;
  for (std::size_t s = 0; s < services.size(); ++s) {
    const proxyconfig::Service& service = services[s];
    for (std::size_t p = 0; p < service.ports.size(); ++p) {
      const proxyconfig::ServicePort& port = service.ports[p];
      const std::string where =
          "outbound.services[" + std::to_string(s) + "].ports[" + std::to_string(p) + "]";
      ServiceTarget target;
      target.service = &service;
      target.port = &port;
      target.label = service.name + ":" + std::to_string(port.port);
      for (std::size_t m = 0; m < port.matches.size(); ++m) {
        const proxyconfig::RouteMatch& match = port.matches[m];
        const std::string match_where = where + ".matches[" + std::to_string(m) + "]";
        CompiledMatch compiled;
        compiled.match = &match;
        if (match.path.type == proxyconfig::PathMatchType::kRegularExpression) {
          auto regex = compile(proxyconfig::ValueMatchType::kRegularExpression, match.path.value,
                               match_where + ".path");
          if (!regex.has_value()) return regex.error();
          compiled.path = std::move(regex.value());
        }
        for (const auto& header : match.headers) {
          auto regex = compile(header.type, header.value, match_where + ".headers");
          if (!regex.has_value()) return regex.error();
          compiled.headers.push_back(std::move(regex.value()));
        }
        for (const auto& query : match.query_params) {
          auto regex = compile(query.type, query.value, match_where + ".queryParams");
          if (!regex.has_value()) return regex.error();
          compiled.query_params.push_back(std::move(regex.value()));
        }
        target.matches.push_back(std::move(compiled));
      }
      for (const proxyconfig::Endpoint& endpoint : port.endpoints) {
        error_code ec;
        const auto address = asio::ip::make_address(endpoint.address, ec);
        if (ec) return Error{where + ": invalid endpoint address '" + endpoint.address + "'"};
        target.endpoints.emplace_back(address, endpoint.port);
        if (!endpoint.identity.empty()) {
          snapshot->identities_.emplace(target.endpoints.back(), endpoint.identity);
        }
        if (endpoint.opaque) snapshot->opaque_at_server_.insert(target.endpoints.back());
      }
      // Every endpoint, not one, and never a port with routes: pods that
      // declare a port opaque on their own (or are added to the Service by
      // mistake) must not turn off the routes of everyone's requests; the
      // tries that go to them cross as HTTP/1.1 instead.
      const bool opaque_port =
          port.rules.empty() && !port.endpoints.empty() &&
          std::all_of(port.endpoints.begin(), port.endpoints.end(),
                      [](const proxyconfig::Endpoint& endpoint) { return endpoint.opaque; });
      const std::size_t index = snapshot->targets_.size();
      for (const std::string& cluster_ip : service.cluster_ips) {
        error_code ec;
        const auto address = asio::ip::make_address(cluster_ip, ec);
        if (ec) return Error{where + ": invalid cluster IP '" + cluster_ip + "'"};
        snapshot->by_destination_[tcp::endpoint(address, port.port)] = index;
        if (opaque_port) snapshot->opaque_at_server_.emplace(address, port.port);
      }
      snapshot->by_name_[{service.name, port.port}] = index;
      for (const tcp::endpoint& endpoint : target.endpoints) {
        snapshot->by_endpoint_.emplace(endpoint, index);
      }
      snapshot->targets_.push_back(std::move(target));
    }
  }
  const auto& others = snapshot->document_.outbound.other_namespaces;
  for (std::size_t i = 0; i < others.size(); ++i) {
    for (const std::string& cluster_ip : others[i].cluster_ips) {
      error_code ec;
      const auto address = asio::ip::make_address(cluster_ip, ec);
      if (ec) {
        return Error{"outbound.otherNamespaces[" + std::to_string(i) + "]: invalid cluster IP '" +
                     cluster_ip + "'"};
      }
      for (const std::uint16_t port : others[i].ports) {
        const tcp::endpoint destination(address, port);
        if (snapshot->by_destination_.contains(destination)) continue;
        snapshot->identities_.emplace(destination, others[i].identity);
        const auto& opaque = others[i].opaque_ports;
        if (std::find(opaque.begin(), opaque.end(), port) != opaque.end()) {
          snapshot->opaque_at_server_.insert(destination);
        }
        snapshot->other_namespaces_.emplace(
            destination, OtherNamespaceTarget{&others[i], others[i].name + "." + others[i].ns +
                                                              ":" + std::to_string(port)});
      }
    }
  }
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

std::string_view Snapshot::identity_of(const tcp::endpoint& address) const {
  const auto found = identities_.find(address);
  return found == identities_.end() ? std::string_view() : found->second;
}

const OtherNamespaceTarget* Snapshot::find_other_namespace(const tcp::endpoint& destination) const {
  const auto found = other_namespaces_.find(destination);
  return found == other_namespaces_.end() ? nullptr : &found->second;
}

const ServiceTarget* Snapshot::find_by_destination(const tcp::endpoint& destination) const {
  const auto found = by_destination_.find(destination);
  return found == by_destination_.end() ? nullptr : &targets_[found->second];
}

const ServiceTarget* Snapshot::find_by_name(const std::string& service, std::uint16_t port) const {
  const auto found = by_name_.find({service, port});
  return found == by_name_.end() ? nullptr : &targets_[found->second];
}

const ServiceTarget* Snapshot::find_by_endpoint(const tcp::endpoint& endpoint) const {
  const auto found = by_endpoint_.find(endpoint);
  return found == by_endpoint_.end() ? nullptr : &targets_[found->second];
}

}  // namespace weft::proxy
