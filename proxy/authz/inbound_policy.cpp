#include "proxy/authz/inbound_policy.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "proxy/routing/router.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/label_selector.h"

namespace weft::proxy::authz {
namespace pc = proxyconfig;

namespace {

constexpr std::string_view kNoRuleReason = "no rule of the authorization policy allows it";
constexpr std::string_view kDefaultReason = "the default inbound policy does not allow it";
constexpr std::string_view kHttpOnlyReason =
    "a rate-limited port takes HTTP only, unless declared opaque";

// A CIDR parsed once; `valid` false matches nothing (never a crash on a value
// validation should have refused).
struct Cidr {
  bool valid = false;
  bool v4 = false;
  std::array<unsigned char, 16> bytes{};
  unsigned prefix = 0;
};

Cidr parse_cidr(std::string_view text) {
  Cidr cidr;
  const std::size_t slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(address_text, error);
  if (error) return cidr;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  cidr.v4 = address.is_v4();
  const unsigned max = cidr.v4 ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return cidr;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return cidr;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max) return cidr;
  }
  if (cidr.v4) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), cidr.bytes.begin());
  } else {
    cidr.bytes = address.to_v6().to_bytes();
  }
  cidr.prefix = prefix;
  cidr.valid = true;
  return cidr;
}

bool cidr_contains(const Cidr& cidr, boost::asio::ip::address address) {
  if (!cidr.valid) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4() != cidr.v4) return false;
  std::array<unsigned char, 16> bytes{};
  if (cidr.v4) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  } else {
    bytes = address.to_v6().to_bytes();
  }
  unsigned bits = cidr.prefix;
  for (std::size_t i = 0; bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((bytes[i] & mask) != (cidr.bytes[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

struct Rule {
  std::string name;  // "rule-<n>"
  std::vector<pc::Identity> identities;
  std::vector<Cidr> cidrs;
  std::vector<pc::AuthorizationPath> paths;
  std::vector<std::string> methods;
};

struct CompiledAuthorization {
  std::string policy;
  bool default_allow = false;
  std::vector<Rule> rules;
};

// The winners for one port (or the catch-all).
struct PortEntry {
  std::optional<pc::MtlsMode> mtls;
  const CompiledAuthorization* authorization = nullptr;
  std::optional<PortRateLimit> rate_limit;
};

// The namespace and ServiceAccount of a client's SPIFFE ID, as views into it.
// The handshake took only IDs that parse in the mesh's trust domain
// (tls/tls_context.cpp, in_trust_domain), so a decision splits the ID rather
// than validating it again: a full parse, with its copies, cost more than 100
// rules. Anything not shaped spiffe://<td>/ns/<ns>/sa/<sa> is no identity.
struct IdentityParts {
  std::string_view ns;
  std::string_view service_account;
};
std::optional<IdentityParts> identity_parts(std::string_view id) {
  constexpr std::string_view kScheme = "spiffe://";
  constexpr std::string_view kNs = "/ns/";
  constexpr std::string_view kSa = "/sa/";
  if (!id.starts_with(kScheme)) return std::nullopt;
  id.remove_prefix(kScheme.size());
  const auto path = id.find('/');
  if (path == 0 || path == std::string_view::npos) return std::nullopt;
  id.remove_prefix(path);
  if (!id.starts_with(kNs)) return std::nullopt;
  id.remove_prefix(kNs.size());
  const auto sa = id.find(kSa);
  if (sa == 0 || sa == std::string_view::npos) return std::nullopt;
  const IdentityParts parts{id.substr(0, sa), id.substr(sa + kSa.size())};
  // Kubernetes names: lower-case letters, digits, '-' and '.' (a '*' or any
  // other byte here is no name, and never a wildcard).
  const auto is_name = [](std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
  };
  if (!is_name(parts.ns) || !is_name(parts.service_account)) return std::nullopt;
  return parts;
}

// `parsed`: the client's identity, split once per decision; null when
// unauthenticated, which no identity matches.
bool identity_matches(const std::vector<pc::Identity>& identities, const IdentityParts* parsed) {
  if (parsed == nullptr) return false;
  for (const auto& identity : identities) {
    if ((identity.ns == "*" || identity.ns == parsed->ns) &&
        (identity.service_account == "*" || identity.service_account == parsed->service_account)) {
      return true;
    }
  }
  return false;
}

bool path_matches(const std::vector<pc::AuthorizationPath>& paths, std::string_view path) {
  return std::any_of(paths.begin(), paths.end(), [path](const pc::AuthorizationPath& p) {
    return p.type == pc::AuthorizationPathType::kExact ? p.value == path
                                                       : path_prefix_matches(p.value, path);
  });
}

// `request` null: a connection, which no rule with paths or methods matches.
bool rule_matches(const Rule& rule, const Client& client, const IdentityParts* client_identity,
                  const HttpRequest* request) {
  if (!rule.identities.empty() && !identity_matches(rule.identities, client_identity)) {
    return false;
  }
  if (!rule.cidrs.empty() &&
      std::none_of(rule.cidrs.begin(), rule.cidrs.end(),
                   [&](const Cidr& cidr) { return cidr_contains(cidr, client.address); })) {
    return false;
  }
  if (rule.paths.empty() && rule.methods.empty()) return true;
  if (request == nullptr) return false;
  if (!rule.paths.empty() && !path_matches(rule.paths, request->path)) return false;
  if (!rule.methods.empty() &&
      std::find(rule.methods.begin(), rule.methods.end(), request->method) == rule.methods.end()) {
    return false;
  }
  return true;
}

}  // namespace

struct InboundPolicies::Impl {
  std::vector<CompiledAuthorization> authorizations;       // never resized after compile
  std::vector<std::pair<std::uint16_t, PortEntry>> ports;  // sorted by port
  PortEntry other_ports;
  pc::DefaultInboundPolicy default_policy = pc::DefaultInboundPolicy::kAllUnauthenticated;
  std::string default_policy_name;  // "default:<word>"
  std::string ns;
  std::vector<std::string> names;  // of the selecting policies, for PortRateLimit::policy

  const PortEntry& entry(std::uint16_t port) const {
    const auto it = std::lower_bound(ports.begin(), ports.end(), port,
                                     [](const auto& e, std::uint16_t p) { return e.first < p; });
    return it != ports.end() && it->first == port ? it->second : other_ports;
  }

  Decision decide(std::uint16_t port, const Client& client, const HttpRequest* request) const {
    const PortEntry& e = entry(port);
    if (e.authorization != nullptr) {
      const CompiledAuthorization& a = *e.authorization;
      std::optional<IdentityParts> parsed;
      if (!client.identity.empty() && !a.rules.empty()) parsed = identity_parts(client.identity);
      const IdentityParts* client_identity = parsed ? &*parsed : nullptr;
      for (const Rule& rule : a.rules) {
        if (rule_matches(rule, client, client_identity, request)) {
          return Decision{.allowed = true, .policy = a.policy, .rule = rule.name, .reason = {}};
        }
      }
      return Decision{.allowed = a.default_allow,
                      .policy = a.policy,
                      .rule = "default-action",
                      .reason = a.default_allow ? std::string_view{} : kNoRuleReason};
    }
    bool allowed = true;
    switch (default_policy) {
      case pc::DefaultInboundPolicy::kAllUnauthenticated:
        allowed = true;
        break;
      case pc::DefaultInboundPolicy::kAllAuthenticated:
        allowed = identity_parts(client.identity).has_value();
        break;
      case pc::DefaultInboundPolicy::kSameNamespace: {
        const auto parsed = identity_parts(client.identity);
        allowed = parsed && parsed->ns == ns;
        break;
      }
      case pc::DefaultInboundPolicy::kDeny:
        allowed = false;
        break;
    }
    return Decision{.allowed = allowed,
                    .policy = default_policy_name,
                    .rule = "default",
                    .reason = allowed ? std::string_view{} : kDefaultReason};
  }
};

InboundPolicies::InboundPolicies() {
  auto impl = std::make_shared<Impl>();
  impl->default_policy_name =
      "default:" + std::string(pc::to_string(pc::DefaultInboundPolicy::kAllUnauthenticated));
  impl_ = std::move(impl);
}

std::shared_ptr<const InboundPolicies> InboundPolicies::compile(const pc::Document& document,
                                                                const PodLabels& labels) {
  auto impl = std::make_shared<Impl>();
  impl->ns = document.ns;
  impl->default_policy = document.inbound.default_policy;
  impl->default_policy_name = "default:" + std::string(pc::to_string(impl->default_policy));

  std::vector<const pc::InboundPolicy*> selecting;
  std::set<std::uint16_t> mentioned;
  for (const auto& policy : document.inbound.policies) {
    if (!pc::selector_matches(policy.pod_selector, labels)) continue;
    selecting.push_back(&policy);
    mentioned.insert(policy.ports.begin(), policy.ports.end());
  }
  // Compiled once per policy; reserved so pointers into it stay valid.
  impl->authorizations.reserve(selecting.size());
  impl->names.reserve(selecting.size());
  for (const auto* policy : selecting) impl->names.push_back(policy->name);
  std::vector<const CompiledAuthorization*> compiled(selecting.size(), nullptr);
  for (std::size_t i = 0; i < selecting.size(); ++i) {
    const auto& source = selecting[i]->authorization;
    if (!source) continue;
    CompiledAuthorization a;
    a.policy = selecting[i]->name;
    a.default_allow = source->default_action == pc::AuthorizationAction::kAllow;
    for (std::size_t n = 0; n < source->rules.size(); ++n) {
      const auto& r = source->rules[n];
      Rule rule{.name = "rule-" + std::to_string(n),
                .identities = r.identities,
                .cidrs = {},
                .paths = r.paths,
                .methods = r.methods};
      for (const auto& cidr : r.cidrs) rule.cidrs.push_back(parse_cidr(cidr));
      a.rules.push_back(std::move(rule));
    }
    impl->authorizations.push_back(std::move(a));
    compiled[i] = &impl->authorizations.back();
  }

  // The first selecting policy covering `port` (nullopt: any port) per section.
  auto resolve = [&](std::optional<std::uint16_t> port) {
    PortEntry e;
    for (std::size_t i = 0; i < selecting.size(); ++i) {
      const auto& p = *selecting[i];
      const bool covers =
          p.ports.empty() || (port && std::binary_search(p.ports.begin(), p.ports.end(), *port));
      if (!covers) continue;
      if (!e.mtls && p.mtls) e.mtls = p.mtls;
      if (e.authorization == nullptr && compiled[i] != nullptr) e.authorization = compiled[i];
      if (!e.rate_limit && p.rate_limit)
        e.rate_limit = PortRateLimit{impl->names[i], *p.rate_limit};
    }
    return e;
  };
  for (std::uint16_t port : mentioned) impl->ports.emplace_back(port, resolve(port));
  impl->other_ports = resolve(std::nullopt);

  auto out = std::make_shared<InboundPolicies>();
  out->impl_ = std::move(impl);
  return out;
}

pc::MtlsMode InboundPolicies::mtls_mode(std::uint16_t port) const {
  return impl_->entry(port).mtls.value_or(pc::MtlsMode::kPermissive);
}

const PortRateLimit* InboundPolicies::rate_limit(std::uint16_t port) const {
  const PortEntry& e = impl_->entry(port);
  return e.rate_limit ? &*e.rate_limit : nullptr;
}

Decision InboundPolicies::decide(std::uint16_t port, const Client& client,
                                 const HttpRequest& request) const {
  return impl_->decide(port, client, &request);
}

Decision InboundPolicies::decide_connection(std::uint16_t port, const Client& client,
                                            Opaque opaque) const {
  Decision decision = impl_->decide(port, client, nullptr);
  if (!decision.allowed || opaque == Opaque::kDeclared) return decision;
  const PortEntry& entry = impl_->entry(port);
  if (!entry.rate_limit) return decision;
  return Decision{.allowed = false,
                  .policy = entry.rate_limit->policy,
                  .rule = "http-only",
                  .reason = kHttpOnlyReason};
}

}  // namespace weft::proxy::authz
