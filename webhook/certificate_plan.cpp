#include "webhook/certificate_plan.h"

#include <arpa/inet.h>

#include <algorithm>

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

// The names split as the certificate holds them: a name that is an IP address
// goes into an IP SAN (a webhook registered by url), in inet_ntop's form.
http::CertificateNames wanted_names(const std::vector<std::string>& names) {
  http::CertificateNames wanted;
  for (const auto& name : names) {
    in6_addr address;
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_pton(AF_INET, name.c_str(), &address) == 1) {
      wanted.ip_addresses.emplace_back(inet_ntop(AF_INET, &address, text, sizeof text));
    } else if (inet_pton(AF_INET6, name.c_str(), &address) == 1) {
      wanted.ip_addresses.emplace_back(inet_ntop(AF_INET6, &address, text, sizeof text));
    } else {
      wanted.dns_names.push_back(name);
    }
  }
  std::sort(wanted.dns_names.begin(), wanted.dns_names.end());
  wanted.dns_names.erase(std::unique(wanted.dns_names.begin(), wanted.dns_names.end()),
                         wanted.dns_names.end());
  std::sort(wanted.ip_addresses.begin(), wanted.ip_addresses.end());
  wanted.ip_addresses.erase(std::unique(wanted.ip_addresses.begin(), wanted.ip_addresses.end()),
                            wanted.ip_addresses.end());
  return wanted;
}

Result<http::PemCertificate> issue_serving(const http::PemCertificate& ca,
                                           const std::vector<std::string>& dns_names,
                                           const CertificatePolicy& policy) {
  http::CertificateRequest request;
  request.common_name = dns_names.empty() ? "weft-webhook" : dns_names.front();
  const http::CertificateNames wanted = wanted_names(dns_names);
  request.dns_names = wanted.dns_names;
  request.ip_addresses = wanted.ip_addresses;
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
  // New names (a renamed Service, an added one) must be served at once: the API
  // server refuses a certificate that does not name the host it calls.
  const auto names = http::certificate_names(current->tls_cert);
  const char* renew_reason = nullptr;
  if (*serving_expiry - now < policy.renew_serving_before) {
    renew_reason = "serving certificate expires soon";
  } else if (!names || *names != wanted_names(dns_names)) {
    renew_reason = "serving certificate names changed";
  }
  if (renew_reason != nullptr) {
    auto serving = issue_serving({signing_ca, current->ca_key}, dns_names, policy);
    if (!serving) return Error{"renewing the serving certificate: " + serving.error().message};
    CertificateBundle bundle = *current;
    bundle.tls_cert = serving->cert;
    bundle.tls_key = serving->key;
    return CertificatePlan{true, std::move(bundle), renew_reason};
  }
  return CertificatePlan{false, *current, "valid"};
}

}  // namespace weft::webhook
