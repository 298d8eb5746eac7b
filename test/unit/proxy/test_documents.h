#pragma once

// Configuration documents built in code for the proxy's unit tests.

#include <string>

#include "weft/proxyconfig/document.h"
#include "weft/proxyconfig/serialize.h"

namespace weft::proxy::testing {

// Service "web" (10.96.0.10:80) with two endpoints and a MeshRoute "web-route":
// rule 0 sends /api with header x-canary: true to "web-canary":8080, rule 1
// sends everything else to web (weight 9) and web-canary (weight 1).
inline proxyconfig::Document routed_document() {
  using namespace proxyconfig;
  Document document;
  document.ns = "shop";
  Service web;
  web.name = "web";
  web.cluster_ips = {"10.96.0.10"};
  ServicePort port;
  port.port = 80;
  port.endpoints = {{"10.0.0.1", 8080, "", "", ""}, {"10.0.0.2", 8080, "", "", ""}};
  Rule canary_rule;
  canary_rule.route = "web-route";
  canary_rule.route_rule = 0;
  canary_rule.backends = {{"web-canary", 8080, 1}};
  Rule split_rule;
  split_rule.route = "web-route";
  split_rule.route_rule = 1;
  split_rule.backends = {{"web", 80, 9}, {"web-canary", 8080, 1}};
  split_rule.request_timeout = std::chrono::milliseconds(2000);
  port.rules = {canary_rule, split_rule};
  RouteMatch canary_match;
  canary_match.rule = 0;
  canary_match.path = {PathMatchType::kPathPrefix, "/api"};
  canary_match.headers = {{ValueMatchType::kExact, "x-canary", "true"}};
  RouteMatch all;
  all.rule = 1;
  port.matches = {canary_match, all};
  web.ports = {port};

  Service canary;
  canary.name = "web-canary";
  canary.cluster_ips = {"10.96.0.11"};
  ServicePort canary_port;
  canary_port.port = 8080;
  canary_port.endpoints = {{"10.0.1.1", 9090, "", "", ""}};
  canary.ports = {canary_port};
  document.outbound.services = {web, canary};
  return document;
}

// routed_document() with identity, and one meshed Service of another
// namespace: api.pay at 10.96.5.5, ports 80 and 9090.
inline proxyconfig::Document with_other_namespace() {
  auto document = routed_document();
  document.identity = proxyconfig::IdentityConfig{
      "cluster.local", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"};
  document.outbound.other_namespaces = {{.ns = "pay",
                                         .name = "api",
                                         .cluster_ips = {"10.96.5.5"},
                                         .ports = {80, 9090},
                                         .identity = "spiffe://cluster.local/ns/pay/sa/api"}};
  return document;
}

inline std::string text_of(const proxyconfig::Document& document) {
  return proxyconfig::serialize(document).text;
}

}  // namespace weft::proxy::testing
