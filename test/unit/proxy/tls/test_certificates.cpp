#include "test/unit/proxy/tls/test_certificates.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "weft/openssl.h"

namespace weft::proxy::test {
namespace {

using openssl::Owned;

std::string text_or_throw(Result<std::string> pem) {
  if (!pem) throw std::runtime_error(pem.error().message);
  return std::move(*pem);
}

void extend(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (!openssl::add_extension(cert, issuer, nid, value.c_str())) {
    throw std::runtime_error("extension " + value);
  }
}

Owned<X509> new_cert(EVP_PKEY* key, const std::string& name, std::chrono::seconds from,
                     std::chrono::seconds until) {
  static long serial = 1;
  Owned<X509> cert(X509_new());
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(c), from.count());
  X509_gmtime_adj(X509_getm_notAfter(c), until.count());
  X509_set_pubkey(c, key);
  X509_NAME* subject = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  return cert;
}

}  // namespace

TestCa make_test_ca(const std::string& name) {
  const auto key = openssl::new_p256_key();
  const auto cert = new_cert(key.get(), name, std::chrono::seconds(-3600), std::chrono::hours(24));
  X509* c = cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  extend(c, c, NID_basic_constraints, "critical,CA:TRUE");
  extend(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
  extend(c, c, NID_subject_key_identifier, "hash");
  if (X509_sign(c, key.get(), EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");
  TestCa made{text_or_throw(openssl::certificate_pem(c)),
              text_or_throw(openssl::private_key_pem(key.get())), nullptr};
  EVP_PKEY_up_ref(key.get());
  made.key = std::shared_ptr<EVP_PKEY>(key.get(), EVP_PKEY_free);
  return made;
}

std::string make_test_leaf(const TestCa& ca, const std::string& spiffe_id, std::string& key_pem,
                           std::chrono::seconds from, std::chrono::seconds until) {
  const auto ca_cert = openssl::read_certificate(ca.cert_pem);
  const auto key = openssl::new_p256_key();
  const auto cert = new_cert(key.get(), "leaf", from, until);
  X509* c = cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert.get()));
  extend(c, ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  extend(c, ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  extend(c, ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  extend(c, ca_cert.get(), NID_authority_key_identifier, "keyid");
  if (!spiffe_id.empty()) extend(c, ca_cert.get(), NID_subject_alt_name, "URI:" + spiffe_id);
  if (X509_sign(c, ca.key.get(), EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");
  key_pem = text_or_throw(openssl::private_key_pem(key.get()));
  return text_or_throw(openssl::certificate_pem(c));
}

Credentials make_test_credentials(const TestCa& ca, const std::string& spiffe_id,
                                  std::chrono::seconds from, std::chrono::seconds until,
                                  const std::string& anchors_pem) {
  Credentials credentials;
  credentials.chain_pem = make_test_leaf(ca, spiffe_id, credentials.key_pem, from, until);
  credentials.anchors_pem = anchors_pem.empty() ? ca.cert_pem : anchors_pem;
  return credentials;
}

std::string with_altered_signature(const std::string& cert_pem) {
  const auto cert = openssl::read_certificate(cert_pem);
  if (!cert) throw std::runtime_error("not a certificate");
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) throw std::runtime_error("i2d_X509");
  const Owned<unsigned char> owned(der);
  // The last byte is the last of the signature's s.
  der[length - 1] ^= 0x01;
  const unsigned char* in = der;
  const Owned<X509> altered(d2i_X509(nullptr, &in, length));
  if (!altered) throw std::runtime_error("d2i_X509");
  return text_or_throw(openssl::certificate_pem(altered.get()));
}

LegacyEcKeysScope::LegacyEcKeysScope(bool on)
    : was_on_(legacy_ec_keys_state() == LegacyEcKeys::kOn) {
  if (on) {
    // Where the path exists, a test asking for it must get it, or it would
    // compare the provider's path with itself.
    const LegacyEcKeys state = use_legacy_ec_keys();
    if (state != LegacyEcKeys::kOn && state != LegacyEcKeys::kNotNeeded) {
      throw std::runtime_error("OpenSSL's built-in EC path could not be set");
    }
  } else {
    stop_legacy_ec_keys();
  }
}

LegacyEcKeysScope::~LegacyEcKeysScope() {
  if (was_on_) {
    use_legacy_ec_keys();
  } else {
    stop_legacy_ec_keys();
  }
}

}  // namespace weft::proxy::test
