#pragma once

// What the serving-certificate provisioner should write, as a pure function of
// what the Secret holds now and the clock: nothing, a new serving certificate, or
// a new CA (kept in the bundle beside the old one until the old one expires, so
// the API server trusts both certificates during the switch).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "weft/result.h"

namespace weft::webhook {

// The Secret's data keys.
inline constexpr std::string_view kCaCertKey = "ca.crt";  // CA bundle: newest first
inline constexpr std::string_view kCaKeyKey = "ca.key";
inline constexpr std::string_view kTlsCertKey = "tls.crt";
inline constexpr std::string_view kTlsKeyKey = "tls.key";

struct CertificateBundle {
  std::string ca_cert;  // one or two PEM certificates; the first signs
  std::string ca_key;
  std::string tls_cert;
  std::string tls_key;
  bool operator==(const CertificateBundle&) const = default;
};

struct CertificatePolicy {
  std::chrono::seconds ca_validity{std::chrono::hours(24 * 365 * 5)};
  std::chrono::seconds serving_validity{std::chrono::hours(24 * 90)};
  // Renew this long before expiry, leaving time for every replica and the API
  // server to pick the new material up.
  std::chrono::seconds renew_ca_before{std::chrono::hours(24 * 180)};
  std::chrono::seconds renew_serving_before{std::chrono::hours(24 * 30)};
};

struct CertificatePlan {
  bool changed = false;
  CertificateBundle bundle;  // what should be stored (the current one if unchanged)
  std::string reason;
};

Result<CertificatePlan> plan_certificates(const std::optional<CertificateBundle>& current,
                                          const std::vector<std::string>& dns_names,
                                          const CertificatePolicy& policy,
                                          std::chrono::system_clock::time_point now);

}  // namespace weft::webhook
