#pragma once

// The mesh's certificates, as PEM text at this interface (OpenSSL 3 inside;
// no hand-written ASN.1 or crypto). Keys are ECDSA P-256.
//
//   trust anchor (root CA, self-signed, pathlen 1)   Secret weft-identity-trust-anchor
//     └─ issuer (intermediate CA, pathlen 0)          Secret weft-identity-issuer
//          └─ leaf (one per proxy: URI SAN spiffe://..., DNS SAN ...identity.weft...,
//                   serverAuth + clientAuth, digitalSignature, lifetime hours)
//
// A leaf's key is made in the proxy's memory; the issuer only sees its CSR.
// Every function that reads PEM bounds its input and says what is wrong.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "weft/identity/spiffe_id.h"
#include "weft/result.h"

namespace weft::identity {

using TimePoint = std::chrono::system_clock::time_point;

struct KeyedCertificate {
  std::string cert_pem;  // one certificate
  std::string key_pem;   // PKCS#8 "PRIVATE KEY"
};

// Certificates are valid from a minute before `now` (clock skew) for `validity`.
Result<KeyedCertificate> make_trust_anchor(std::string_view trust_domain,
                                           std::chrono::seconds validity, TimePoint now);
// An intermediate CA signed by `anchor`; its notAfter never passes the anchor's.
Result<KeyedCertificate> make_issuer(const KeyedCertificate& anchor, std::string_view trust_domain,
                                     std::chrono::seconds validity, TimePoint now);

// The proxy's side: a fresh P-256 key and a CSR signed by it that names
// `identity` (the issuer decides the names anyway; the CSR proves possession).
struct KeyAndRequest {
  std::string key_pem;
  std::string csr_pem;
};
Result<KeyAndRequest> make_certificate_request(const WorkloadIdentity& identity);

// The issuer's side. The CSR must be PEM, at most kMaxCsrBytes, carry a P-256
// public key and a valid self-signature; its requested names are ignored: the
// leaf names exactly `identity` (the one the API server vouched for). The
// leaf's notAfter never passes the issuer's.
inline constexpr std::size_t kMaxCsrBytes = 8 * 1024;
// The same checks of the CSR alone: done before a request costs a TokenReview.
Result<void> check_certificate_request(std::string_view csr_pem);
Result<std::string> issue_leaf(const KeyedCertificate& issuer, std::string_view csr_pem,
                               const WorkloadIdentity& identity, std::chrono::seconds validity,
                               TimePoint now);

// What a certificate says (the first one of the PEM text).
struct CertificateFacts {
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::vector<std::string> uris;       // URI SANs
  std::vector<std::string> dns_names;  // DNS SANs
  std::string subject;                 // one line, for logs
};
Result<CertificateFacts> inspect_certificate(std::string_view cert_pem);

// All certificates in a PEM bundle, in order (anchors: more than one during a
// rotation). Refuses an empty bundle, a non-certificate block, and garbage.
// Every PEM text this interface reads (bundle, chain, certificate, key) is
// bounded by these; a CSR by kMaxCsrBytes.
inline constexpr std::size_t kMaxPemBundleBytes = 256 * 1024;
inline constexpr std::size_t kMaxCertificatesInBundle = 64;
Result<std::vector<std::string>> split_certificates(std::string_view bundle_pem);

// Checks that `key_pem` is the private key of `cert_pem` (a Secret whose two
// halves do not match is refused, not used).
Result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem);

// Verifies `chain_pem` (leaf first, then intermediates) against the anchors in
// `anchors_pem` at `now` (X.509 strict; the leaf must not be a CA and must allow
// both serverAuth and clientAuth), and returns the leaf's SPIFFE identity: exactly one URI SAN, in
// `trust_domain`. Errors name the reason in words: "certificate has expired
// (notAfter ...)", "... is not yet valid", "signed by an unknown authority",
// "no SPIFFE ID in the certificate", "trust domain is X, expected Y", ...
Result<WorkloadIdentity> verify_workload_chain(std::string_view chain_pem,
                                               std::string_view anchors_pem,
                                               std::string_view trust_domain, TimePoint now);

// Verifies `chain_pem` (a certificate, then any intermediates) against the
// anchors in `anchors_pem` at `now`, X.509 strict, for no particular purpose:
// a webhook's serving certificate against its caBundle, an issuer against the
// trust anchors. Errors as verify_workload_chain's.
Result<void> verify_chain(std::string_view chain_pem, std::string_view anchors_pem, TimePoint now);

// The SPIFFE identity a certificate names (its one URI SAN), in `trust_domain`,
// without checking its chain: for a certificate the TLS handshake has already
// verified, or the proxy's own leaf.
Result<WorkloadIdentity> certificate_identity(std::string_view cert_pem,
                                              std::string_view trust_domain);

}  // namespace weft::identity
