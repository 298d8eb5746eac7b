#include "weft/proxyconfig/parse.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "weft/dns_name.h"
#include "weft/duration.h"
#include "weft/identity/spiffe_id.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/serialize.h"

namespace weft::proxyconfig {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kDefaultInboundPolicyWords =
    "all-unauthenticated, all-authenticated, same-namespace or deny";

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}
std::string index(const std::string& path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

// Reads typed fields out of JSON objects, keeping the first error with its path.
// After an error every read is a no-op, so callers need not check each one.
class Reader {
 public:
  bool ok() const { return !error_; }
  const std::optional<Error>& error() const { return error_; }
  void fail(const std::string& path, const std::string& what) {
    if (!error_) error_ = Error{fmt::format("{}: {}", path, what)};
  }

  // The member, or nullptr when absent (an error when required).
  const json* member(const json& object, const std::string& path, std::string_view key,
                     bool required) {
    if (!ok()) return nullptr;
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      if (required) fail(join(path, key), "is required");
      return nullptr;
    }
    return &*it;
  }
  const json* object(const json& parent, const std::string& path, std::string_view key,
                     bool required) {
    const json* value = member(parent, path, key, required);
    if (value && !value->is_object()) {
      fail(join(path, key), fmt::format("must be an object, got {}", value->type_name()));
      return nullptr;
    }
    return value;
  }
  const json* array(const json& parent, const std::string& path, std::string_view key,
                    bool required) {
    const json* value = member(parent, path, key, required);
    if (value && !value->is_array()) {
      fail(join(path, key), fmt::format("must be an array, got {}", value->type_name()));
      return nullptr;
    }
    return value;
  }
  bool string(const json& value, const std::string& path, std::string& out) {
    if (!ok()) return false;
    if (!value.is_string()) {
      fail(path, fmt::format("must be a string, got {}", value.type_name()));
      return false;
    }
    out = value.get<std::string>();
    return true;
  }
  bool string(const json& parent, const std::string& path, std::string_view key, std::string& out,
              bool required) {
    const json* value = member(parent, path, key, required);
    return value && string(*value, join(path, key), out);
  }
  bool boolean(const json& parent, const std::string& path, std::string_view key, bool& out) {
    const json* value = member(parent, path, key, false);
    if (!value) return false;
    if (!value->is_boolean()) {
      fail(join(path, key), fmt::format("must be a boolean, got {}", value->type_name()));
      return false;
    }
    out = value->get<bool>();
    return true;
  }
  bool integer(const json& value, const std::string& path, std::int64_t min, std::int64_t max,
               std::int64_t& out) {
    if (!ok()) return false;
    if (!value.is_number_integer()) {
      fail(path, fmt::format("must be an integer, got {}", value.type_name()));
      return false;
    }
    // Unsigned JSON numbers above int64 range are out of every range we accept.
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(path, fmt::format("must be an integer from {} to {}, got {}", min, max,
                             value.get<std::uint64_t>()));
      return false;
    }
    const auto number = value.get<std::int64_t>();
    if (number < min || number > max) {
      fail(path, fmt::format("must be an integer from {} to {}, got {}", min, max, number));
      return false;
    }
    out = number;
    return true;
  }
  template <typename T>
  bool integer(const json& parent, const std::string& path, std::string_view key, std::int64_t min,
               std::int64_t max, T& out, bool required) {
    const json* value = member(parent, path, key, required);
    std::int64_t number = 0;
    if (!value || !integer(*value, join(path, key), min, max, number)) return false;
    out = static_cast<T>(number);
    return true;
  }
  bool millis(const json& parent, const std::string& path, std::string_view key, milliseconds& out,
              bool required) {
    std::int64_t count = 0;
    if (!integer(parent, path, key, 0, kMaxDuration.count(), count, required)) return false;
    out = milliseconds(count);
    return true;
  }
  template <typename E>
  bool enumeration(const json& value, const std::string& path, E& out) {
    std::string text;
    if (!string(value, path, text)) return false;
    const auto parsed = parse_enum<E>(text);
    if (!parsed) {
      fail(path, fmt::format("unknown value {:?}", text));
      return false;
    }
    out = *parsed;
    return true;
  }
  template <typename E>
  bool enumeration(const json& parent, const std::string& path, std::string_view key, E& out,
                   bool required) {
    const json* value = member(parent, path, key, required);
    return value && enumeration(*value, join(path, key), out);
  }
  // Calls read(item, item_path) for each element of the array parent[key].
  template <typename F>
  void each(const json& parent, const std::string& path, std::string_view key, bool required,
            F read) {
    const json* list = array(parent, path, key, required);
    if (!list) return;
    const std::string list_path = join(path, key);
    for (std::size_t i = 0; i < list->size() && ok(); ++i) {
      const json& item = (*list)[i];
      read(item, index(list_path, i));
    }
  }
  // Like each(), for arrays of objects.
  template <typename F>
  void each_object(const json& parent, const std::string& path, std::string_view key, bool required,
                   F read) {
    each(parent, path, key, required, [&](const json& item, const std::string& item_path) {
      if (!item.is_object()) {
        fail(item_path, fmt::format("must be an object, got {}", item.type_name()));
        return;
      }
      read(item, item_path);
    });
  }

 private:
  std::optional<Error> error_;
};

void read_value_matches(Reader& r, const json& parent, const std::string& path,
                        std::string_view key, std::vector<ValueMatch>& out) {
  r.each_object(parent, path, key, false, [&](const json& item, const std::string& p) {
    ValueMatch match;
    r.enumeration(item, p, "type", match.type, true);
    r.string(item, p, "name", match.name, true);
    r.string(item, p, "value", match.value, true);
    out.push_back(std::move(match));
  });
}

// Port numbers; one out of range fails the document (and reads as 0).
void read_port_numbers(Reader& r, const json& item, const std::string& p, std::string_view key,
                       bool required, std::vector<std::uint16_t>& out) {
  r.each(item, p, key, required, [&](const json& port, const std::string& pp) {
    std::int64_t value = 0;
    out.push_back(r.integer(port, pp, 1, 65535, value) ? static_cast<std::uint16_t>(value) : 0);
  });
}

MeshedService read_meshed_service(Reader& r, const json& item, const std::string& p) {
  MeshedService other;
  r.string(item, p, "namespace", other.ns, true);
  r.string(item, p, "name", other.name, true);
  r.each(item, p, "clusterIPs", true, [&](const json& ip, const std::string& ipp) {
    std::string address;
    if (r.string(ip, ipp, address)) other.cluster_ips.push_back(address);
  });
  read_port_numbers(r, item, p, "ports", true, other.ports);
  r.string(item, p, "identity", other.identity, true);
  read_port_numbers(r, item, p, "opaquePorts", false, other.opaque_ports);
  return other;
}

void read_port(Reader& r, const json& item, const std::string& p, ServicePort& port) {
  r.integer(item, p, "port", 1, 65535, port.port, true);
  r.string(item, p, "name", port.name, false);
  r.string(item, p, "appProtocol", port.app_protocol, false);
  r.each_object(item, p, "endpoints", true, [&](const json& e, const std::string& ep) {
    Endpoint endpoint;
    r.string(e, ep, "address", endpoint.address, true);
    r.integer(e, ep, "port", 1, 65535, endpoint.port, true);
    r.string(e, ep, "serviceAccount", endpoint.service_account, false);
    r.string(e, ep, "pod", endpoint.pod, false);
    r.string(e, ep, "zone", endpoint.zone, false);
    if (r.string(e, ep, "identity", endpoint.identity, false) && endpoint.identity.empty()) {
      r.fail(join(ep, "identity"), "must not be empty (leave it out for an unmeshed endpoint)");
    }
    r.boolean(e, ep, "opaque", endpoint.opaque);
    port.endpoints.push_back(std::move(endpoint));
  });
  r.each_object(item, p, "rules", true, [&](const json& ru, const std::string& rp) {
    Rule rule;
    r.string(ru, rp, "route", rule.route, true);
    r.integer(ru, rp, "routeRule", 0, 1'000'000, rule.route_rule, true);
    r.each_object(ru, rp, "backends", true, [&](const json& b, const std::string& bp) {
      Backend backend;
      r.string(b, bp, "service", backend.service, true);
      r.integer(b, bp, "port", 1, 65535, backend.port, true);
      r.integer(b, bp, "weight", 0, 100, backend.weight, true);
      rule.backends.push_back(std::move(backend));
    });
    if (const json* timeouts = r.object(ru, rp, "timeouts", false)) {
      const std::string tp = join(rp, "timeouts");
      milliseconds value{};
      if (r.millis(*timeouts, tp, "requestMs", value, false)) rule.request_timeout = value;
      if (r.millis(*timeouts, tp, "backendRequestMs", value, false)) {
        rule.backend_request_timeout = value;
      }
    }
    if (const json* retry_json = r.object(ru, rp, "retry", false)) {
      const std::string tp = join(rp, "retry");
      Retry retry;
      r.integer(*retry_json, tp, "attempts", 1, 10, retry.attempts, true);
      r.each(*retry_json, tp, "codes", true, [&](const json& c, const std::string& cp) {
        std::int64_t code = 0;
        if (r.integer(c, cp, 500, 599, code)) retry.codes.push_back(static_cast<uint16_t>(code));
      });
      r.each(*retry_json, tp, "conditions", true, [&](const json& c, const std::string& cp) {
        RetryCondition condition{};
        if (r.enumeration(c, cp, condition)) retry.conditions.push_back(condition);
      });
      r.each(*retry_json, tp, "grpcCodes", false, [&](const json& c, const std::string& cp) {
        std::int64_t code = 0;
        if (r.integer(c, cp, kMinRetryGrpcCode, kMaxRetryGrpcCode, code)) {
          retry.grpc_codes.push_back(static_cast<std::uint8_t>(code));
        }
      });
      r.millis(*retry_json, tp, "backoffMs", retry.backoff, true);
      if (const json* budget = r.object(*retry_json, tp, "budget", true)) {
        const std::string bp = join(tp, "budget");
        r.integer(*budget, bp, "percent", 0, 100, retry.budget.percent, true);
        r.integer(*budget, bp, "minRetriesPerSecond", 0, 1000, retry.budget.min_retries_per_second,
                  true);
        std::int64_t interval = 0;
        if (r.integer(*budget, bp, "intervalMs", 1000, 60000, interval, true)) {
          retry.budget.interval = milliseconds(interval);
        }
      }
      rule.retry = std::move(retry);
    }
    port.rules.push_back(std::move(rule));
  });
  r.each_object(item, p, "matches", true, [&](const json& m, const std::string& mp) {
    RouteMatch match;
    r.integer(m, mp, "rule", 0, 1'000'000, match.rule, true);
    if (const json* path = r.object(m, mp, "path", true)) {
      r.enumeration(*path, join(mp, "path"), "type", match.path.type, true);
      r.string(*path, join(mp, "path"), "value", match.path.value, true);
    }
    std::string method;
    if (r.string(m, mp, "method", method, false)) match.method = method;
    read_value_matches(r, m, mp, "headers", match.headers);
    read_value_matches(r, m, mp, "queryParams", match.query_params);
    r.boolean(m, mp, "grpc", match.grpc);
    port.matches.push_back(std::move(match));
  });
  if (const json* lb = r.object(item, p, "loadBalancer", true)) {
    r.enumeration(*lb, join(p, "loadBalancer"), "algorithm", port.load_balancer, true);
  }
  if (const json* cb = r.object(item, p, "circuitBreaker", false)) {
    const std::string cp = join(p, "circuitBreaker");
    CircuitBreaker breaker;
    r.integer(*cb, cp, "consecutiveFailures", 1, 1000, breaker.consecutive_failures, true);
    r.millis(*cb, cp, "ejectionTimeMs", breaker.ejection_time, true);
    r.millis(*cb, cp, "maxEjectionTimeMs", breaker.max_ejection_time, true);
    port.circuit_breaker = breaker;
  }
}

void read_policy(Reader& r, const json& item, const std::string& p, InboundPolicy& policy) {
  r.string(item, p, "name", policy.name, true);
  if (const json* selector = r.object(item, p, "podSelector", true)) {
    const std::string sp = join(p, "podSelector");
    if (const json* labels = r.object(*selector, sp, "matchLabels", false)) {
      for (const auto& [key, value] : labels->items()) {
        r.string(value, join(join(sp, "matchLabels"), key), policy.pod_selector.match_labels[key]);
      }
    }
    r.each_object(*selector, sp, "matchExpressions", false,
                  [&](const json& e, const std::string& ep) {
                    SelectorRequirement requirement;
                    r.string(e, ep, "key", requirement.key, true);
                    r.enumeration(e, ep, "operator", requirement.op, true);
                    r.each(e, ep, "values", false, [&](const json& v, const std::string& vp) {
                      std::string value;
                      if (r.string(v, vp, value)) requirement.values.push_back(value);
                    });
                    policy.pod_selector.match_expressions.push_back(std::move(requirement));
                  });
  }
  r.each(item, p, "ports", true, [&](const json& v, const std::string& vp) {
    std::int64_t port = 0;
    if (r.integer(v, vp, 1, 65535, port)) policy.ports.push_back(static_cast<std::uint16_t>(port));
  });
  if (const json* mtls = r.object(item, p, "mtls", false)) {
    MtlsMode mode{};
    if (r.enumeration(*mtls, join(p, "mtls"), "mode", mode, true)) policy.mtls = mode;
  }
  if (const json* authz = r.object(item, p, "authorization", false)) {
    const std::string ap = join(p, "authorization");
    Authorization authorization;
    r.enumeration(*authz, ap, "defaultAction", authorization.default_action, true);
    r.each_object(*authz, ap, "rules", true, [&](const json& ru, const std::string& rp) {
      AuthorizationRule rule;
      r.each_object(ru, rp, "identities", false, [&](const json& i, const std::string& ip) {
        Identity identity;
        r.string(i, ip, "namespace", identity.ns, true);
        r.string(i, ip, "serviceAccount", identity.service_account, true);
        rule.identities.push_back(std::move(identity));
      });
      r.each(ru, rp, "cidrs", false, [&](const json& c, const std::string& cp) {
        std::string cidr;
        if (r.string(c, cp, cidr)) rule.cidrs.push_back(cidr);
      });
      r.each_object(ru, rp, "paths", false, [&](const json& pa, const std::string& pp) {
        AuthorizationPath path;
        r.enumeration(pa, pp, "type", path.type, true);
        r.string(pa, pp, "value", path.value, true);
        rule.paths.push_back(std::move(path));
      });
      r.each(ru, rp, "methods", false, [&](const json& m, const std::string& mp) {
        std::string method;
        if (r.string(m, mp, method)) rule.methods.push_back(method);
      });
      authorization.rules.push_back(std::move(rule));
    });
    policy.authorization = std::move(authorization);
  }
  if (const json* rate = r.object(item, p, "rateLimit", false)) {
    const std::string rp = join(p, "rateLimit");
    RateLimit limit;
    r.integer(*rate, rp, "requestsPerSecond", 1, 100000, limit.requests_per_second, true);
    r.integer(*rate, rp, "burst", 1, 1000000, limit.burst, true);
    policy.rate_limit = limit;
  }
}

// ---- semantic checks ---------------------------------------------------------

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// "10.0.0.0/8", "fd00::/8": an address, a prefix within its family's length, and
// no bits set after the prefix (what the CRD also requires).
bool is_canonical_cidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash + 1 >= text.size()) return false;
  const std::string address = text.substr(0, slash);
  const std::string prefix_text = text.substr(slash + 1);
  if (prefix_text.size() > 3 || !std::all_of(prefix_text.begin(), prefix_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int prefix = std::stoi(prefix_text);
  unsigned char bytes[16] = {};
  int bits = 0;
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    bits = 128;
  } else {
    return false;
  }
  if (prefix > bits) return false;
  for (int bit = prefix; bit < bits; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

bool is_http_method(const std::string& method) {
  static const std::set<std::string, std::less<>> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return kMethods.contains(method);
}

// Exactly spiffe://<trust_domain>/ns/<namespace>/sa/<account>, the only form
// weft-identity issues (weft::identity::parse_spiffe_id: no port, query,
// fragment, percent-encoding or extra segment), so the proxy can compare the
// expected identity with a certificate's URI SAN byte for byte.
std::optional<std::string> spiffe_id_problem(std::string_view id, std::string_view trust_domain) {
  auto parsed = identity::parse_spiffe_id(id);
  if (!parsed) return parsed.error().message;
  if (parsed->trust_domain != trust_domain) {
    return fmt::format("trust domain {:?} is not the document's {:?}", parsed->trust_domain,
                       trust_domain);
  }
  return std::nullopt;
}

void check_identity(Reader& r, const IdentityConfig& identity) {
  if (auto valid = identity::check_trust_domain(identity.trust_domain); !valid) {
    r.fail("identity.trustDomain", valid.error().message);
  }
  const auto& pem = identity.trust_anchors_pem;
  if (pem.empty()) r.fail("identity.trustAnchorsPem", "must not be empty");
  if (pem.size() > kMaxTrustAnchorsPemBytes) {
    r.fail("identity.trustAnchorsPem", fmt::format("{} bytes, more than the limit of {}",
                                                   pem.size(), kMaxTrustAnchorsPemBytes));
  }
  // Only the shape here: the proxy, which links the X.509 code, parses the
  // certificates and refuses the document if one is not a valid CA.
  if (!pem.empty() && pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    r.fail("identity.trustAnchorsPem", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
}

void check_path(Reader& r, const std::string& path, bool regex_allowed, bool is_regex,
                const std::string& value) {
  if (value.empty()) r.fail(path, "must not be empty");
  if (!is_regex && value.front() != '/')
    r.fail(path, fmt::format("must start with '/': {:?}", value));
  if (is_regex && !regex_allowed) r.fail(path, "regular expressions are not allowed here");
}

void check_port(Reader& r, const std::string& p, const ServicePort& port,
                const std::optional<IdentityConfig>& identity) {
  if (port.port == 0) r.fail(join(p, "port"), "must be from 1 to 65535");
  std::set<std::pair<std::string, std::uint16_t>> seen_endpoints;
  for (std::size_t i = 0; i < port.endpoints.size(); ++i) {
    const auto& endpoint = port.endpoints[i];
    const std::string ep = index(join(p, "endpoints"), i);
    if (!is_ip_address(endpoint.address)) {
      r.fail(join(ep, "address"), fmt::format("not an IP address: {:?}", endpoint.address));
    }
    if (endpoint.port == 0) r.fail(join(ep, "port"), "must be from 1 to 65535");
    if (!seen_endpoints.emplace(endpoint.address, endpoint.port).second) {
      r.fail(ep, fmt::format("duplicate endpoint {}:{}", endpoint.address, endpoint.port));
    }
    if (!endpoint.identity.empty()) {
      if (!identity) {
        r.fail(join(ep, "identity"), "needs the document's identity section (its trust domain)");
      } else if (auto problem = spiffe_id_problem(endpoint.identity, identity->trust_domain)) {
        r.fail(join(ep, "identity"), *problem);
      }
    }
  }
  for (std::size_t i = 0; i < port.rules.size(); ++i) {
    const auto& rule = port.rules[i];
    const std::string rp = index(join(p, "rules"), i);
    if (rule.backends.empty()) r.fail(join(rp, "backends"), "must not be empty");
    bool any_weight = false;
    for (std::size_t b = 0; b < rule.backends.size(); ++b) {
      const auto& backend = rule.backends[b];
      const std::string bp = index(join(rp, "backends"), b);
      if (backend.service.empty()) r.fail(join(bp, "service"), "must not be empty");
      if (backend.port == 0) r.fail(join(bp, "port"), "must be from 1 to 65535");
      if (backend.weight > 100) r.fail(join(bp, "weight"), "must be from 0 to 100");
      any_weight = any_weight || backend.weight > 0;
    }
    if (!rule.backends.empty() && !any_weight) {
      r.fail(join(rp, "backends"), "at least one backend must have a non-zero weight");
    }
    if (rule.retry) {
      const auto& retry = *rule.retry;
      if (retry.attempts < 1 || retry.attempts > 10) {
        r.fail(join(rp, "retry.attempts"), "must be from 1 to 10");
      }
      for (auto code : retry.codes) {
        if (code < 500 || code > 599) r.fail(join(rp, "retry.codes"), "must be from 500 to 599");
      }
      std::set<std::uint8_t> grpc_codes;
      for (auto code : retry.grpc_codes) {
        if (code < kMinRetryGrpcCode || code > kMaxRetryGrpcCode) {
          r.fail(join(rp, "retry.grpcCodes"),
                 fmt::format("must be from {} to {} (OK is never retried), got {}",
                             kMinRetryGrpcCode, kMaxRetryGrpcCode, code));
        }
        if (!grpc_codes.insert(code).second) {
          r.fail(join(rp, "retry.grpcCodes"), fmt::format("duplicate code {}", code));
        }
      }
      if (retry.budget.percent > 100) r.fail(join(rp, "retry.budget.percent"), "must be 0 to 100");
      if (retry.budget.interval < std::chrono::seconds(1) ||
          retry.budget.interval > std::chrono::seconds(60)) {
        r.fail(join(rp, "retry.budget.intervalMs"), "must be from 1000 to 60000");
      }
    }
  }
  for (std::size_t i = 0; i < port.matches.size(); ++i) {
    const auto& match = port.matches[i];
    const std::string mp = index(join(p, "matches"), i);
    if (match.rule >= port.rules.size()) {
      r.fail(join(mp, "rule"), fmt::format("refers to rule {} but the port has {} rules",
                                           match.rule, port.rules.size()));
    }
    check_path(r, join(mp, "path.value"), true,
               match.path.type == PathMatchType::kRegularExpression, match.path.value);
    if (match.method && !is_http_method(*match.method)) {
      r.fail(join(mp, "method"), fmt::format("unknown HTTP method {:?}", *match.method));
    }
    // A gRPC call is a POST without a query: a gRPC match with either could
    // never hold, so no writer means it.
    if (match.grpc && match.method) {
      r.fail(join(mp, "method"), "must be left out of a gRPC match");
    }
    if (match.grpc && !match.query_params.empty()) {
      r.fail(join(mp, "queryParams"), "must be left out of a gRPC match");
    }
  }
  if (!port.rules.empty() && port.matches.empty()) {
    r.fail(join(p, "matches"), "must not be empty when the port has rules");
  }
  if (port.circuit_breaker) {
    const auto& breaker = *port.circuit_breaker;
    if (breaker.consecutive_failures < 1) {
      r.fail(join(p, "circuitBreaker.consecutiveFailures"), "must be at least 1");
    }
    if (breaker.ejection_time.count() <= 0) {
      r.fail(join(p, "circuitBreaker.ejectionTimeMs"), "must be greater than 0");
    }
    if (breaker.max_ejection_time < breaker.ejection_time) {
      r.fail(join(p, "circuitBreaker.maxEjectionTimeMs"), "must be at least ejectionTimeMs");
    }
  }
}

void check_policy(Reader& r, const std::string& p, const InboundPolicy& policy) {
  if (policy.name.empty()) r.fail(join(p, "name"), "must not be empty");
  for (auto port : policy.ports) {
    if (port == 0) r.fail(join(p, "ports"), "must be from 1 to 65535");
  }
  for (std::size_t i = 0; i < policy.pod_selector.match_expressions.size(); ++i) {
    const auto& requirement = policy.pod_selector.match_expressions[i];
    const std::string ep = index(join(p, "podSelector.matchExpressions"), i);
    if (requirement.key.empty()) r.fail(join(ep, "key"), "must not be empty");
    const bool needs_values =
        requirement.op == SelectorOperator::kIn || requirement.op == SelectorOperator::kNotIn;
    if (needs_values == requirement.values.empty()) {
      r.fail(join(ep, "values"),
             "must be non-empty for In and NotIn, and empty for Exists and DoesNotExist");
    }
  }
  if (policy.authorization) {
    for (std::size_t i = 0; i < policy.authorization->rules.size(); ++i) {
      const auto& rule = policy.authorization->rules[i];
      const std::string rp = index(join(p, "authorization.rules"), i);
      // An empty rule would allow every request: never what a MeshPolicy meant.
      if (rule.identities.empty() && rule.cidrs.empty() && rule.paths.empty() &&
          rule.methods.empty()) {
        r.fail(rp, "sets no list (identities, cidrs, paths or methods): it would match everything");
      }
      for (const auto& cidr : rule.cidrs) {
        if (!is_canonical_cidr(cidr)) r.fail(join(rp, "cidrs"), fmt::format("bad CIDR {:?}", cidr));
      }
      for (const auto& method : rule.methods) {
        if (!is_http_method(method)) {
          r.fail(join(rp, "methods"), fmt::format("unknown HTTP method {:?}", method));
        }
      }
      for (std::size_t k = 0; k < rule.paths.size(); ++k) {
        check_path(r, join(index(join(rp, "paths"), k), "value"), false, false,
                   rule.paths[k].value);
      }
      for (const auto& identity : rule.identities) {
        if (identity.ns.empty() || identity.service_account.empty()) {
          r.fail(join(rp, "identities"), "namespace and serviceAccount must not be empty");
        }
      }
    }
  }
  if (policy.rate_limit) {
    if (policy.rate_limit->requests_per_second < 1) {
      r.fail(join(p, "rateLimit.requestsPerSecond"), "must be at least 1");
    }
    if (policy.rate_limit->burst < policy.rate_limit->requests_per_second) {
      r.fail(join(p, "rateLimit.burst"), "must be at least requestsPerSecond");
    }
  }
}

void check_other_namespaces(Reader& r, const Document& document) {
  const auto& others = document.outbound.other_namespaces;
  if (!others.empty() && !document.identity) {
    r.fail("outbound.otherNamespaces", "needs the document's identity section (its trust domain)");
    return;
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < others.size(); ++i) {
    const auto& other = others[i];
    const std::string p = index("outbound.otherNamespaces", i);
    if (!is_dns_label(other.ns)) {
      r.fail(join(p, "namespace"), fmt::format("{:?} is not a namespace name", other.ns));
    }
    if (other.ns == document.ns) {
      r.fail(join(p, "namespace"), "is the document's own namespace (list it in services)");
    }
    if (other.name.empty()) r.fail(join(p, "name"), "must not be empty");
    if (!seen.emplace(other.ns, other.name).second) {
      r.fail(p, fmt::format("duplicate service {}/{}", other.ns, other.name));
    }
    if (other.cluster_ips.empty()) r.fail(join(p, "clusterIPs"), "must not be empty");
    for (const auto& ip : other.cluster_ips) {
      if (!is_ip_address(ip)) r.fail(join(p, "clusterIPs"), fmt::format("bad IP {:?}", ip));
    }
    if (other.ports.empty()) r.fail(join(p, "ports"), "must not be empty");
    if (std::set<std::uint16_t>(other.ports.begin(), other.ports.end()).size() !=
        other.ports.size()) {
      r.fail(join(p, "ports"), "has a duplicate port");
    }
    for (const std::uint16_t port : other.opaque_ports) {
      if (std::find(other.ports.begin(), other.ports.end(), port) == other.ports.end()) {
        r.fail(join(p, "opaquePorts"), fmt::format("port {} is not one of ports", port));
      }
    }
    if (std::set<std::uint16_t>(other.opaque_ports.begin(), other.opaque_ports.end()).size() !=
        other.opaque_ports.size()) {
      r.fail(join(p, "opaquePorts"), "has a duplicate port");
    }
    if (auto problem = spiffe_id_problem(other.identity, document.identity->trust_domain)) {
      r.fail(join(p, "identity"), *problem);
    } else if (auto parsed = identity::parse_spiffe_id(other.identity);
               parsed && parsed->ns != other.ns) {
      // A namespace's pods run as its own ServiceAccounts only.
      r.fail(join(p, "identity"),
             fmt::format("names namespace {:?}, not the Service's {:?}", parsed->ns, other.ns));
    }
  }
}

void check_document(Reader& r, const Document& document) {
  if (document.version != kDocumentVersion) {
    r.fail("version", fmt::format("unsupported version {} (this reader understands {})",
                                  document.version, kDocumentVersion));
  }
  if (document.ns.empty()) r.fail("namespace", "must not be empty");
  // First: the endpoints' identities are checked against its trust domain.
  if (document.identity) check_identity(r, *document.identity);
  std::set<std::string> names;
  for (std::size_t s = 0; s < document.outbound.services.size(); ++s) {
    const auto& service = document.outbound.services[s];
    const std::string sp = index("outbound.services", s);
    if (service.name.empty()) r.fail(join(sp, "name"), "must not be empty");
    if (!names.insert(service.name).second) {
      r.fail(join(sp, "name"), fmt::format("duplicate service {:?}", service.name));
    }
    for (const auto& ip : service.cluster_ips) {
      if (!is_ip_address(ip)) r.fail(join(sp, "clusterIPs"), fmt::format("bad IP {:?}", ip));
    }
    std::set<std::uint16_t> ports;
    for (std::size_t i = 0; i < service.ports.size(); ++i) {
      const std::string pp = index(join(sp, "ports"), i);
      if (!ports.insert(service.ports[i].port).second) {
        r.fail(join(pp, "port"), fmt::format("duplicate port {}", service.ports[i].port));
      }
      check_port(r, pp, service.ports[i], document.identity);
    }
  }
  check_other_namespaces(r, document);
  for (std::size_t i = 0; i < document.inbound.policies.size(); ++i) {
    check_policy(r, index("inbound.policies", i), document.inbound.policies[i]);
  }
  if (!parse_enum<DefaultInboundPolicy>(to_string(document.inbound.default_policy))) {
    r.fail("inbound.defaultPolicy",
           fmt::format("unknown value {} ({})", static_cast<int>(document.inbound.default_policy),
                       kDefaultInboundPolicyWords));
  }
}

}  // namespace

std::optional<Error> check_identity(const IdentityConfig& identity) {
  Reader reader;
  check_identity(reader, identity);
  return reader.error();
}

std::optional<Error> validate(const Document& document) {
  Reader reader;
  check_document(reader, document);
  return reader.error();
}

Result<ParsedDocument> parse(std::string_view text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    return Error{fmt::format("proxy config is not valid JSON: {}", e.what())};
  }
  if (!root.is_object()) {
    return Error{fmt::format("proxy config must be a JSON object, got {}", root.type_name())};
  }

  Reader r;
  ParsedDocument parsed;
  Document& document = parsed.document;
  // The version first: a document of another version may differ in any field.
  r.integer(root, "", "version", INT32_MIN, INT32_MAX, document.version, true);
  if (r.ok() && document.version != kDocumentVersion) {
    return Error{fmt::format("version: unsupported version {} (this reader understands {})",
                             document.version, kDocumentVersion)};
  }
  if (r.string(root, "", "hash", parsed.hash, true)) {
    json body = root;
    body.erase("hash");
    const std::string actual = content_hash(body);
    if (actual != parsed.hash) {
      r.fail("hash",
             fmt::format("document says {:?} but its content hashes to {:?}", parsed.hash, actual));
    }
  }
  r.string(root, "", "namespace", document.ns, true);
  if (const json* outbound = r.object(root, "", "outbound", true)) {
    r.each_object(
        *outbound, "outbound", "services", true, [&](const json& item, const std::string& p) {
          Service service;
          r.string(item, p, "name", service.name, true);
          r.each(item, p, "clusterIPs", true, [&](const json& ip, const std::string& ipp) {
            std::string address;
            if (r.string(ip, ipp, address)) service.cluster_ips.push_back(address);
          });
          r.each_object(item, p, "ports", true, [&](const json& port_json, const std::string& pp) {
            ServicePort port;
            read_port(r, port_json, pp, port);
            service.ports.push_back(std::move(port));
          });
          document.outbound.services.push_back(std::move(service));
        });
    r.each_object(*outbound, "outbound", "otherNamespaces", false,
                  [&](const json& item, const std::string& p) {
                    document.outbound.other_namespaces.push_back(read_meshed_service(r, item, p));
                  });
  }
  if (const json* inbound = r.object(root, "", "inbound", true)) {
    r.each_object(*inbound, "inbound", "policies", true,
                  [&](const json& item, const std::string& p) {
                    InboundPolicy policy;
                    read_policy(r, item, p, policy);
                    document.inbound.policies.push_back(std::move(policy));
                  });
    std::string word;
    if (r.string(*inbound, "inbound", "defaultPolicy", word, false)) {
      if (auto policy = parse_enum<DefaultInboundPolicy>(word)) {
        document.inbound.default_policy = *policy;
      } else {
        r.fail("inbound.defaultPolicy",
               fmt::format("unknown value {:?} ({})", word, kDefaultInboundPolicyWords));
      }
    }
  }
  if (const json* identity = r.object(root, "", "identity", false)) {
    IdentityConfig config;
    r.string(*identity, "identity", "trustDomain", config.trust_domain, true);
    r.string(*identity, "identity", "trustAnchorsPem", config.trust_anchors_pem, true);
    document.identity = std::move(config);
  }
  if (r.ok()) check_document(r, document);
  if (!r.ok()) return *r.error();
  return parsed;
}

}  // namespace weft::proxyconfig
