#pragma once

// The OpenSSL 3 plumbing shared by the code that makes and reads certificates
// (lib/weft/identity/x509, lib/weft/http/certificates, the proxy's TLS
// contexts and their tests): owning pointers for OpenSSL's objects, PEM text
// to and from certificates and keys, and X.509v3 extensions from OpenSSL's
// configuration syntax. Strict parsing of untrusted PEM (bounds, nothing
// outside the blocks) is weft::identity's; these read the first object found.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::openssl {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ASN1_STRING* p) const { ASN1_STRING_free(p); }  // ASN1_TIME too
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(STACK_OF(X509_EXTENSION) * p) const {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
  // A stack of certificates only borrows them (an untrusted chain).
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
  void operator()(char* p) const { OPENSSL_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// A read-only BIO over `text`, which must outlive it.
Owned<BIO> memory_bio(std::string_view text);
// What a memory BIO holds.
std::string bio_text(BIO* bio);

Result<std::string> certificate_pem(X509* cert);
Result<std::string> private_key_pem(EVP_PKEY* key);  // PKCS#8 "PRIVATE KEY"

// The first certificate or private key in PEM text (text before it skipped,
// as PEM_read_bio does); null when there is none.
Owned<X509> read_certificate(std::string_view pem);
Owned<EVP_PKEY> read_private_key(std::string_view pem);

// Adds an extension written in OpenSSL's configuration syntax
// ("critical,CA:TRUE", "keyid:always", "URI:spiffe://..."), with `issuer` as
// the source of the authority key identifier; false when it cannot.
bool add_extension(X509* cert, X509* issuer, int nid, const char* value);

// A fresh ECDSA P-256 key (null when OpenSSL cannot make one).
Owned<EVP_PKEY> new_p256_key();

}  // namespace weft::openssl
