#include "webhook/certificate_plan.h"

#include <arpa/inet.h>

#include "weft/http/certificates.h"

namespace weft::webhook {
namespace {

// The first PEM certificate of a bundle.
std::string first_certificate(const std::string& bundle) {
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  const auto end = bundle.find(kEnd);
  if (end == std::string::npos) return bundle;
  return bundle.substr(0, end + kEnd.size()) + "\n";
}

Result<http::PemCertificate> issue_serving(const http::PemCertificate& ca,
                                           const std::vector<std::string>& dns_names,
                                           const CertificatePolicy& policy) {
  http::CertificateRequest request;
  request.common_name = dns_names.empty() ? "weft-webhook" : dns_names.front();
  // A name that is an IP address goes into an IP SAN (a webhook registered by url).
  for (const auto& name : dns_names) {
    in6_addr address;
    const bool is_ip = inet_pton(AF_INET, name.c_str(), &address) == 1 ||
                       inet_pton(AF_INET6, name.c_str(), &address) == 1;
    (is_ip ? request.ip_addresses : request.dns_names).push_back(name);
  }
  request.validity = policy.serving_validity;
  return http::issue_certificate(ca, request);
}

Result<CertificatePlan> fresh(const CertificatePolicy& policy,
                              const std::vector<std::string>& dns_names, std::string reason,
                              const std::string& previous_ca,
                              std::chrono::system_clock::time_point now) {
  auto ca = http::make_certificate_authority("weft-webhook-ca", policy.ca_validity);
  if (!ca) return ca.error();
  auto serving = issue_serving(*ca, dns_names, policy);
  if (!serving) return serving.error();
  CertificatePlan plan{true, {ca->cert, ca->key, serving->cert, serving->key}, std::move(reason)};
  // Keep trusting the previous CA while it is valid: pods of the other replica
  // may still serve a certificate it signed.
  if (!previous_ca.empty()) {
    auto previous_expiry = http::certificate_not_after(previous_ca);
    if (previous_expiry && *previous_expiry > now) plan.bundle.ca_cert += previous_ca;
  }
  return plan;
}

}  // namespace

Result<CertificatePlan> plan_certificates(const std::optional<CertificateBundle>& current,
                                          const std::vector<std::string>& dns_names,
                                          const CertificatePolicy& policy,
                                          std::chrono::system_clock::time_point now) {
  if (dns_names.empty()) return Error{"the serving certificate needs at least one DNS name"};
  if (!current || current->ca_cert.empty() || current->ca_key.empty() ||
      current->tls_cert.empty() || current->tls_key.empty()) {
    return fresh(policy, dns_names, "no certificate yet", "", now);
  }
  const std::string signing_ca = first_certificate(current->ca_cert);
  auto ca_expiry = http::certificate_not_after(signing_ca);
  auto serving_expiry = http::certificate_not_after(current->tls_cert);
  if (!ca_expiry || !serving_expiry) {
    return fresh(policy, dns_names, "stored certificates are unreadable", "", now);
  }
  if (*ca_expiry - now < policy.renew_ca_before) {
    return fresh(policy, dns_names, "CA expires soon", signing_ca, now);
  }
  if (*serving_expiry - now < policy.renew_serving_before) {
    auto serving = issue_serving({signing_ca, current->ca_key}, dns_names, policy);
    if (!serving) return Error{"renewing the serving certificate: " + serving.error().message};
    CertificateBundle bundle = *current;
    bundle.tls_cert = serving->cert;
    bundle.tls_key = serving->key;
    return CertificatePlan{true, std::move(bundle), "serving certificate expires soon"};
  }
  return CertificatePlan{false, *current, "valid"};
}

}  // namespace weft::webhook
