#pragma once

// Certificates for serving HTTPS: a self-signed CA and the certificates it
// issues, as PEM. The webhook provisions its own serving certificate with these
// (and rotates it before expiry); tests use them to stand up TLS servers.
// Keys are ECDSA P-256: small, fast to make, accepted by Go's TLS (the apiserver).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

namespace weft::http {

struct PemCertificate {
  std::string cert;  // PEM "CERTIFICATE"
  std::string key;   // PEM "PRIVATE KEY" (PKCS#8)
};

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries, e.g. "127.0.0.1"
  std::vector<std::string> uris;          // subjectAltName URI entries (a SPIFFE ID)
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
};

// A CA valid from a minute ago (clock skew) for `validity`.
Result<PemCertificate> make_certificate_authority(std::string_view common_name,
                                                  std::chrono::seconds validity);

// A serving certificate (serverAuth) for the request, signed by the CA.
Result<PemCertificate> issue_certificate(const PemCertificate& ca,
                                         const CertificateRequest& request);

// The subjectAltName entries of the first certificate in the PEM text: DNS
// names and IP addresses (in inet_ntop's text form), each sorted.
struct CertificateNames {
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool operator==(const CertificateNames&) const = default;
};
Result<CertificateNames> certificate_names(std::string_view cert_pem);

// The notAfter time of the first certificate in the PEM text.
Result<std::chrono::system_clock::time_point> certificate_not_after(std::string_view cert_pem);

}  // namespace weft::http
