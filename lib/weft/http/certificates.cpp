#include "weft/http/certificates.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "weft/openssl.h"

namespace weft::http {
namespace {

using openssl::add_extension;
using Key = openssl::Owned<EVP_PKEY>;
using Cert = openssl::Owned<X509>;

Result<Cert> parse_cert(std::string_view pem) {
  Cert cert = openssl::read_certificate(pem);
  if (!cert) return Error{"not a PEM certificate"};
  return cert;
}

Result<Key> parse_key(std::string_view pem) {
  Key key = openssl::read_private_key(pem);
  if (!key) return Error{"not a PEM private key"};
  return key;
}

// A certificate for `key`, with a random serial and the validity window, not yet signed.
Result<Cert> new_certificate(EVP_PKEY* key, std::string_view common_name,
                             std::chrono::seconds validity) {
  Cert cert(X509_new());
  openssl::Owned<BIGNUM> serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Error{"cannot create certificate"};
  }
  X509_set_version(cert.get(), 2);  // v3
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Error{"cannot create certificate for '" + cn + "'"};
  }
  return cert;
}

}  // namespace

Result<PemCertificate> make_certificate_authority(std::string_view common_name,
                                                  std::chrono::seconds validity) {
  Key key = openssl::new_p256_key();
  if (!key) return Error{"cannot generate a key"};
  auto cert = new_certificate(key.get(), common_name, validity);
  if (!cert) return cert.error();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  if (!add_extension(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
      !add_extension(c, c, NID_subject_key_identifier, "hash") ||
      X509_sign(c, key.get(), EVP_sha256()) == 0) {
    return Error{"cannot sign the CA certificate"};
  }
  auto cert_text = openssl::certificate_pem(c);
  auto key_text = openssl::private_key_pem(key.get());
  if (!cert_text) return cert_text.error();
  if (!key_text) return key_text.error();
  return PemCertificate{std::move(*cert_text), std::move(*key_text)};
}

Result<PemCertificate> issue_certificate(const PemCertificate& ca,
                                         const CertificateRequest& request) {
  auto ca_cert = parse_cert(ca.cert);
  if (!ca_cert) return Error{"CA certificate: " + ca_cert.error().message};
  auto ca_key = parse_key(ca.key);
  if (!ca_key) return Error{"CA key: " + ca_key.error().message};
  if (request.dns_names.empty() && request.ip_addresses.empty()) {
    return Error{"a serving certificate needs at least one DNS name or IP address"};
  }
  Key key = openssl::new_p256_key();
  if (!key) return Error{"cannot generate a key"};
  auto cert = new_certificate(key.get(), request.common_name, request.validity);
  if (!cert) return cert.error();
  X509* c = cert->get();
  std::string alt_names;
  for (const auto& dns : request.dns_names)
    alt_names += (alt_names.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : request.ip_addresses)
    alt_names += (alt_names.empty() ? "" : ",") + ("IP:" + ip);
  for (const auto& uri : request.uris) alt_names += (alt_names.empty() ? "" : ",") + ("URI:" + uri);
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get()));
  if (!add_extension(c, ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(c, ca_cert->get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(c, ca_cert->get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(c, ca_cert->get(), NID_authority_key_identifier, "keyid:always")) {
    return Error{"cannot add certificate extensions"};
  }
  if (!add_extension(c, ca_cert->get(), NID_subject_alt_name, alt_names.c_str())) {
    return Error{"invalid subject alternative names: " + alt_names};
  }
  if (X509_sign(c, ca_key->get(), EVP_sha256()) == 0) return Error{"cannot sign the certificate"};
  auto cert_text = openssl::certificate_pem(c);
  auto key_text = openssl::private_key_pem(key.get());
  if (!cert_text) return cert_text.error();
  if (!key_text) return key_text.error();
  return PemCertificate{std::move(*cert_text), std::move(*key_text)};
}

Result<CertificateNames> certificate_names(std::string_view cert_pem_text) {
  auto cert = parse_cert(cert_pem_text);
  if (!cert) return cert.error();
  CertificateNames names;
  auto* entries = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr));
  if (entries == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(entries); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(entries, i);
    if (entry->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = entry->d.dNSName;
      names.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                   static_cast<std::size_t>(ASN1_STRING_length(dns)));
    } else if (entry->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = entry->d.iPAddress;
      const int length = ASN1_STRING_length(ip);
      const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
      char text[INET6_ADDRSTRLEN] = {};
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
        names.ip_addresses.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(entries);
  std::sort(names.dns_names.begin(), names.dns_names.end());
  std::sort(names.ip_addresses.begin(), names.ip_addresses.end());
  return names;
}

Result<std::chrono::system_clock::time_point> certificate_not_after(
    std::string_view cert_pem_text) {
  auto cert = parse_cert(cert_pem_text);
  if (!cert) return cert.error();
  openssl::Owned<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch ||
      ASN1_TIME_diff(&days, &seconds, epoch.get(), X509_get0_notAfter(cert->get())) != 1) {
    return Error{"certificate has an unreadable notAfter"};
  }
  return std::chrono::system_clock::time_point(std::chrono::hours(24) * days +
                                               std::chrono::seconds(seconds));
}

}  // namespace weft::http
