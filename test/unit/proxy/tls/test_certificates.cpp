#include "test/unit/proxy/tls/test_certificates.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace weft::proxy::test {
namespace {

EVP_PKEY* new_key() {
  return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
}

std::string key_text(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return text;
}

std::string cert_text(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return text;
}

void extend(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) throw std::runtime_error("extension " + value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

X509* new_cert(EVP_PKEY* key, const std::string& name, std::chrono::seconds from,
               std::chrono::seconds until) {
  static long serial = 1;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), from.count());
  X509_gmtime_adj(X509_getm_notAfter(cert), until.count());
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  return cert;
}

EVP_PKEY* read_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

X509* read_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

}  // namespace

TestCa make_test_ca(const std::string& name) {
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(key, name, std::chrono::seconds(-3600), std::chrono::hours(24));
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  extend(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  extend(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  extend(cert, cert, NID_subject_key_identifier, "hash");
  X509_sign(cert, key, EVP_sha256());
  TestCa ca{cert_text(cert), key_text(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return ca;
}

std::string make_test_leaf(const TestCa& ca, const std::string& spiffe_id, std::string& key_pem,
                           std::chrono::seconds from, std::chrono::seconds until) {
  EVP_PKEY* ca_key = read_key(ca.key_pem);
  X509* ca_cert = read_cert(ca.cert_pem);
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(key, "leaf", from, until);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert));
  extend(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  extend(cert, ca_cert, NID_key_usage, "critical,digitalSignature");
  extend(cert, ca_cert, NID_ext_key_usage, "serverAuth,clientAuth");
  extend(cert, ca_cert, NID_authority_key_identifier, "keyid");
  if (!spiffe_id.empty()) extend(cert, ca_cert, NID_subject_alt_name, "URI:" + spiffe_id);
  X509_sign(cert, ca_key, EVP_sha256());
  key_pem = key_text(key);
  std::string pem = cert_text(cert);
  X509_free(cert);
  X509_free(ca_cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return pem;
}

Credentials make_test_credentials(const TestCa& ca, const std::string& spiffe_id,
                                  std::chrono::seconds from, std::chrono::seconds until,
                                  const std::string& anchors_pem) {
  Credentials credentials;
  credentials.chain_pem = make_test_leaf(ca, spiffe_id, credentials.key_pem, from, until);
  credentials.anchors_pem = anchors_pem.empty() ? ca.cert_pem : anchors_pem;
  return credentials;
}

}  // namespace weft::proxy::test
