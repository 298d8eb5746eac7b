#pragma once

// A workload's identity: the ServiceAccount a pod runs as, in a trust domain,
// written as a SPIFFE ID (spiffe://<trust-domain>/ns/<namespace>/sa/<account>)
// in a certificate's URI SAN, and as the DNS SAN Linkerd uses for the same
// identity (<account>.<namespace>.serviceaccount.identity.weft.<trust-domain>).
// Pure: no OpenSSL here.

#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::identity {

inline constexpr std::string_view kDefaultTrustDomain = "cluster.local";

struct WorkloadIdentity {
  std::string trust_domain;
  std::string ns;
  std::string service_account;

  std::string uri() const;       // spiffe://cluster.local/ns/shop/sa/web
  std::string dns_name() const;  // web.shop.serviceaccount.identity.weft.cluster.local
  bool operator==(const WorkloadIdentity&) const = default;
};

// A trust domain is a DNS name: lowercase letters, digits, '-', '.', at most
// 255 characters, each label a DNS-1123 label (none empty, no '-' at its ends).
Result<void> check_trust_domain(std::string_view trust_domain);

// Builds an identity, checking the trust domain and that the namespace and the
// account are valid Kubernetes names (DNS-1123 labels / subdomains).
Result<WorkloadIdentity> make_identity(std::string_view trust_domain, std::string_view ns,
                                       std::string_view service_account);

// The reverse of uri(): exactly spiffe://<td>/ns/<ns>/sa/<sa>, nothing more
// (no query, fragment, port, userinfo, percent-encoding or extra segment).
Result<WorkloadIdentity> parse_spiffe_id(std::string_view uri);

// "system:serviceaccount:<ns>:<sa>", the username the API server gives a
// service-account token (TokenReview's status.user.username), as an identity.
Result<WorkloadIdentity> identity_from_username(std::string_view trust_domain,
                                                std::string_view username);

}  // namespace weft::identity
