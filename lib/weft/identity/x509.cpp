#include "weft/identity/x509.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <optional>

#include "weft/openssl.h"

namespace weft::identity {
namespace {

using openssl::add_extension;
using openssl::bio_text;
using openssl::Free;
using openssl::Owned;
using Key = Owned<EVP_PKEY>;
using Cert = Owned<X509>;
using Request = Owned<X509_REQ>;
using Bio = Owned<BIO>;

// OpenSSL keeps failures in a per-thread queue; one left behind would be read
// by the next TLS call on this thread (SSL_get_error) as its own.
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

constexpr std::string_view kBegin = "-----BEGIN ";

bool only_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

// One PEM block as OpenSSL decoded it.
struct PemBlock {
  std::string type;  // "CERTIFICATE"
  std::string der;
};

// Every PEM block of `text`, in order; only whitespace may lie between and
// around them (PEM_read_bio itself would skip anything before a block).
Result<std::vector<PemBlock>> read_pem_blocks(std::string_view text, std::size_t max_bytes,
                                              std::string_view what) {
  if (text.size() > max_bytes) {
    return Error{
        fmt::format("{} is {} bytes, more than the {} allowed", what, text.size(), max_bytes)};
  }
  Bio bio = openssl::memory_bio(text);
  if (!bio) return Error{fmt::format("{}: out of memory", what)};
  std::vector<PemBlock> blocks;
  std::size_t offset = 0;
  while (true) {
    const std::size_t begin = text.find(kBegin, offset);
    if (!only_whitespace(text.substr(
            offset, begin == std::string_view::npos ? std::string_view::npos : begin - offset))) {
      return Error{fmt::format("{} has text outside its PEM blocks", what)};
    }
    if (begin == std::string_view::npos) break;
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const int read = PEM_read_bio(bio.get(), &name, &header, &data, &length);
    Owned<char> name_owner(name);
    Owned<char> header_owner(header);
    Owned<unsigned char> data_owner(data);
    if (read != 1) {
      return Error{fmt::format("{} has a malformed PEM block (block {})", what, blocks.size() + 1)};
    }
    if (header != nullptr && header[0] != '\0') {
      return Error{fmt::format("{} has a PEM block with headers (encrypted?)", what)};
    }
    blocks.push_back(PemBlock{
        name, std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length))});
    offset = text.size() - static_cast<std::size_t>(BIO_pending(bio.get()));
  }
  if (blocks.empty()) return Error{fmt::format("{} holds no PEM block", what)};
  return blocks;
}

// DER of exactly one object: d2i must consume every byte.
template <typename T, typename Decode>
T* decode_der(const std::string& der, Decode decode) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  T* object = decode(nullptr, &p, static_cast<long>(der.size()));
  if (object != nullptr && p != end) {
    Free{}(object);
    return nullptr;
  }
  return object;
}

Result<std::vector<Cert>> parse_certificates(std::string_view pem, std::string_view what) {
  auto blocks = read_pem_blocks(pem, kMaxPemBundleBytes, what);
  if (!blocks) return blocks.error();
  if (blocks->size() > kMaxCertificatesInBundle) {
    return Error{fmt::format("{} holds {} PEM blocks, more than the {} allowed", what,
                             blocks->size(), kMaxCertificatesInBundle)};
  }
  std::vector<Cert> certs;
  for (const auto& block : *blocks) {
    if (block.type != "CERTIFICATE") {
      return Error{fmt::format("{} holds a {:?} block; only CERTIFICATE blocks belong there", what,
                               block.type)};
    }
    Cert cert(decode_der<X509>(block.der, d2i_X509));
    if (!cert) {
      return Error{fmt::format("{}: certificate {} is not valid DER", what, certs.size() + 1)};
    }
    certs.push_back(std::move(cert));
  }
  return certs;
}

Result<Cert> parse_first_certificate(std::string_view pem, std::string_view what) {
  auto certs = parse_certificates(pem, what);
  if (!certs) return certs.error();
  return std::move(certs->front());
}

Result<Key> parse_private_key(std::string_view pem, std::string_view what) {
  auto blocks = read_pem_blocks(pem, kMaxPemBundleBytes, what);
  if (!blocks) return blocks.error();
  if (blocks->size() != 1) return Error{fmt::format("{} holds more than one PEM block", what)};
  const PemBlock& block = blocks->front();
  // PKCS#8 (what Weft writes) or SEC1 (what cert-manager writes for ECDSA).
  if (block.type != "PRIVATE KEY" && block.type != "EC PRIVATE KEY") {
    return Error{fmt::format("{} is a {:?} block, not a PRIVATE KEY", what, block.type)};
  }
  Key key(decode_der<EVP_PKEY>(block.der, d2i_AutoPrivateKey));
  if (!key) return Error{fmt::format("{} is not a valid private key", what)};
  return key;
}

std::time_t to_time_t(TimePoint t) {
  return std::chrono::system_clock::to_time_t(t);
}

std::string rfc3339(TimePoint t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(to_time_t(t)));
}

std::optional<TimePoint> to_time_point(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string subject_line(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
    return "?";
  }
  std::string text = bio_text(bio.get());
  return text.empty() ? "(empty subject)" : text;
}

// A name on the certificate's subject line and the issuer name to match.
bool set_common_name(X509_NAME* name, const std::string& common_name) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                    -1, 0) == 1;
}

bool add_name(GENERAL_NAMES* names, int type, const std::string& value) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  if (name == nullptr || text == nullptr ||
      ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(text);
    return false;
  }
  GENERAL_NAME_set0_value(name, type, text);
  if (sk_GENERAL_NAME_push(names, name) == 0) {
    GENERAL_NAME_free(name);
    return false;
  }
  return true;
}

// The SAN of a workload: its SPIFFE ID and its DNS name, built as structures
// (not configuration text).
Owned<GENERAL_NAMES> workload_names(const WorkloadIdentity& identity) {
  Owned<GENERAL_NAMES> names(GENERAL_NAMES_new());
  if (!names || !add_name(names.get(), GEN_URI, identity.uri()) ||
      !add_name(names.get(), GEN_DNS, identity.dns_name())) {
    return nullptr;
  }
  return names;
}

Owned<BIGNUM> random_serial() {
  Owned<BIGNUM> serial(BN_new());
  // 128 random bits; zero (not a valid serial) is drawn again.
  do {
    if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return nullptr;
    }
  } while (BN_is_zero(serial.get()));
  return serial;
}

// A v3 certificate for `key`, with a random serial and the window, not yet signed.
Result<Cert> new_certificate(EVP_PKEY* key, TimePoint not_before, TimePoint not_after) {
  Cert cert(X509_new());
  auto serial = random_serial();
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), to_time_t(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), to_time_t(not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Error{"cannot create a certificate"};
  }
  return cert;
}

const EVP_MD* digest_for(EVP_PKEY* key) {
  // Ed25519 and Ed448 sign the message itself.
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
  return EVP_sha256();
}

// "EC prime256v1", "RSA 2048 bits": for messages about a key that was refused.
std::string describe_key(EVP_PKEY* key) {
  const char* type = EVP_PKEY_get0_type_name(key);
  char group[80] = {};
  std::size_t group_length = 0;
  if (EVP_PKEY_is_a(key, "EC") &&
      EVP_PKEY_get_group_name(key, group, sizeof group, &group_length) == 1) {
    return fmt::format("EC {}", group);
  }
  return fmt::format("{} {} bits", type != nullptr ? type : "unknown", EVP_PKEY_get_bits(key));
}

bool is_p256(EVP_PKEY* key) {
  char group[80] = {};
  std::size_t length = 0;
  return EVP_PKEY_is_a(key, "EC") &&
         EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 &&
         std::string_view(group, length) == SN_X9_62_prime256v1;
}

struct Authority {
  Cert cert;
  Key key;
  TimePoint not_after;
};

// A CA's certificate and key, checked to belong together and to be a CA that
// is still valid at `now`.
Result<Authority> load_authority(const KeyedCertificate& keyed, std::string_view what,
                                 TimePoint now) {
  auto cert = parse_first_certificate(keyed.cert_pem, fmt::format("{} certificate", what));
  if (!cert) return cert.error();
  auto key = parse_private_key(keyed.key_pem, fmt::format("{} key", what));
  if (!key) return key.error();
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
    return Error{fmt::format("{} key does not match its certificate", what)};
  }
  if (X509_check_ca(cert->get()) == 0) {
    return Error{fmt::format("{} certificate is not a CA ({})", what, subject_line(cert->get()))};
  }
  auto not_after = to_time_point(X509_get0_notAfter(cert->get()));
  if (!not_after) return Error{fmt::format("{} certificate has an unreadable notAfter", what)};
  if (*not_after <= now) {
    return Error{
        fmt::format("{} certificate has expired (notAfter {})", what, rfc3339(*not_after))};
  }
  return Authority{std::move(*cert), std::move(*key), *not_after};
}

constexpr auto kClockSkew = std::chrono::minutes(1);

Result<void> check_validity(std::chrono::seconds validity) {
  if (validity <= std::chrono::seconds(0)) {
    return Error{fmt::format("validity must be positive, got {}s", validity.count())};
  }
  return {};
}

Result<KeyedCertificate> sign_and_encode(X509* cert, EVP_PKEY* signer, EVP_PKEY* key) {
  if (X509_sign(cert, signer, digest_for(signer)) == 0) {
    return Error{"cannot sign the certificate"};
  }
  auto cert_text = openssl::certificate_pem(cert);
  if (!cert_text) return cert_text.error();
  if (key == nullptr) return KeyedCertificate{std::move(*cert_text), ""};
  auto key_text = openssl::private_key_pem(key);
  if (!key_text) return key_text.error();
  return KeyedCertificate{std::move(*cert_text), std::move(*key_text)};
}

// Why verification failed, in words; `cert` is the certificate at fault.
std::string verify_failure(int error, X509* cert, int depth) {
  const bool self_signed = cert != nullptr && (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
  const std::string which = depth == 0    ? "certificate"
                            : self_signed ? "trust anchor"
                                          : "issuer certificate";
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED: {
      const auto when = cert ? to_time_point(X509_get0_notAfter(cert)) : std::nullopt;
      return fmt::format("{} has expired (notAfter {})", which, when ? rfc3339(*when) : "?");
    }
    case X509_V_ERR_CERT_NOT_YET_VALID: {
      const auto when = cert ? to_time_point(X509_get0_notBefore(cert)) : std::nullopt;
      return fmt::format("{} is not yet valid (notBefore {})", which, when ? rfc3339(*when) : "?");
    }
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "signed by an unknown authority (no trust anchor issued this chain)";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return fmt::format("{} has a signature that does not verify", which);
    case X509_V_ERR_INVALID_CA:
      return "an issuer in the chain is not a CA";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "the chain is longer than its CAs allow (pathlen)";
    case X509_V_ERR_INVALID_PURPOSE:
      return fmt::format("{} is not for mesh TLS (serverAuth and clientAuth)", which);
    default:
      return X509_verify_cert_error_string(error);
  }
}

Result<WorkloadIdentity> spiffe_identity_of(X509* cert, std::string_view trust_domain) {
  Owned<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> uris;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<std::size_t>(ASN1_STRING_length(uri)));
  }
  if (uris.empty()) return Error{"no SPIFFE ID in the certificate (no URI SAN)"};
  if (uris.size() > 1) {
    return Error{fmt::format(
        "the certificate has {} URI SANs; a SPIFFE certificate has exactly one", uris.size())};
  }
  auto identity = parse_spiffe_id(uris.front());
  if (!identity) return identity.error();
  if (identity->trust_domain != trust_domain) {
    return Error{
        fmt::format("trust domain is {}, expected {}", identity->trust_domain, trust_domain)};
  }
  return identity;
}

}  // namespace

Result<KeyedCertificate> make_trust_anchor(std::string_view trust_domain,
                                           std::chrono::seconds validity, TimePoint now) {
  ClearOpenSslErrors clear;
  if (auto ok = check_trust_domain(trust_domain); !ok) return ok.error();
  if (auto ok = check_validity(validity); !ok) return ok.error();
  Key key = openssl::new_p256_key();
  if (!key) return Error{"cannot generate a P-256 key"};
  auto cert = new_certificate(key.get(), now - kClockSkew, now + validity);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (!set_common_name(X509_get_subject_name(c),
                       fmt::format("root.identity.weft.{}", trust_domain)) ||
      X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
      !add_extension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") ||
      !add_extension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(c, c, NID_subject_key_identifier, "hash")) {
    return Error{"cannot build the trust anchor certificate"};
  }
  return sign_and_encode(c, key.get(), key.get());
}

Result<KeyedCertificate> make_issuer(const KeyedCertificate& anchor, std::string_view trust_domain,
                                     std::chrono::seconds validity, TimePoint now) {
  ClearOpenSslErrors clear;
  if (auto ok = check_trust_domain(trust_domain); !ok) return ok.error();
  if (auto ok = check_validity(validity); !ok) return ok.error();
  auto authority = load_authority(anchor, "trust anchor", now);
  if (!authority) return authority.error();
  Key key = openssl::new_p256_key();
  if (!key) return Error{"cannot generate a P-256 key"};
  auto cert =
      new_certificate(key.get(), now - kClockSkew, std::min(now + validity, authority->not_after));
  if (!cert) return cert.error();
  X509* c = cert->get();
  X509* ca = authority->cert.get();
  if (!set_common_name(X509_get_subject_name(c),
                       fmt::format("issuer.identity.weft.{}", trust_domain)) ||
      X509_set_issuer_name(c, X509_get_subject_name(ca)) != 1 ||
      !add_extension(c, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(c, ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(c, ca, NID_subject_key_identifier, "hash") ||
      !add_extension(c, ca, NID_authority_key_identifier, "keyid:always")) {
    return Error{"cannot build the issuer certificate"};
  }
  return sign_and_encode(c, authority->key.get(), key.get());
}

Result<KeyAndRequest> make_certificate_request(const WorkloadIdentity& identity) {
  ClearOpenSslErrors clear;
  if (auto checked = make_identity(identity.trust_domain, identity.ns, identity.service_account);
      !checked) {
    return checked.error();
  }
  Key key = openssl::new_p256_key();
  Request request(X509_REQ_new());
  auto names = workload_names(identity);
  Owned<STACK_OF(X509_EXTENSION)> extensions(sk_X509_EXTENSION_new_null());
  if (!key || !request || !names || !extensions) return Error{"cannot create a CSR"};
  Owned<X509_EXTENSION> san(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!san || sk_X509_EXTENSION_push(extensions.get(), san.get()) == 0) {
    return Error{"cannot create a CSR"};
  }
  san.release();  // the stack owns it now
  const std::string dns_name = identity.dns_name();
  if (X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      (dns_name.size() <= ub_common_name &&
       !set_common_name(X509_REQ_get_subject_name(request.get()), dns_name)) ||
      X509_REQ_add_extensions(request.get(), extensions.get()) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1 ||
      X509_REQ_sign(request.get(), key.get(), EVP_sha256()) == 0) {
    return Error{"cannot sign the CSR"};
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1) {
    return Error{"cannot encode the CSR"};
  }
  auto key_text = openssl::private_key_pem(key.get());
  if (!key_text) return key_text.error();
  return KeyAndRequest{std::move(*key_text), bio_text(bio.get())};
}

namespace {

// The CSR, parsed and checked: one PEM block, PKCS#10, a P-256 key, a valid
// self-signature.
Result<Request> read_certificate_request(std::string_view csr_pem) {
  auto blocks = read_pem_blocks(csr_pem, kMaxCsrBytes, "CSR");
  if (!blocks) return blocks.error();
  if (blocks->size() != 1) {
    return Error{fmt::format("CSR text holds {} PEM blocks; send exactly one", blocks->size())};
  }
  if (blocks->front().type != "CERTIFICATE REQUEST") {
    return Error{
        fmt::format("CSR is a {:?} block, not a CERTIFICATE REQUEST", blocks->front().type)};
  }
  Request request(decode_der<X509_REQ>(blocks->front().der, d2i_X509_REQ));
  if (!request) return Error{"CSR is not a valid PKCS#10 request"};
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request.get());
  if (public_key == nullptr) return Error{"CSR carries no readable public key"};
  if (!is_p256(public_key)) {
    return Error{fmt::format("CSR key is {}; only ECDSA P-256 (prime256v1) is accepted",
                             describe_key(public_key))};
  }
  if (X509_REQ_verify(request.get(), public_key) != 1) {
    return Error{"CSR signature does not verify (the request was not signed by its key)"};
  }
  return request;
}

}  // namespace

Result<void> check_certificate_request(std::string_view csr_pem) {
  ClearOpenSslErrors clear;
  auto request = read_certificate_request(csr_pem);
  if (!request) return request.error();
  return {};
}

Result<std::string> issue_leaf(const KeyedCertificate& issuer, std::string_view csr_pem,
                               const WorkloadIdentity& identity, std::chrono::seconds validity,
                               TimePoint now) {
  ClearOpenSslErrors clear;
  auto request = read_certificate_request(csr_pem);
  if (!request) return request.error();
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request->get());

  if (auto checked = make_identity(identity.trust_domain, identity.ns, identity.service_account);
      !checked) {
    return checked.error();
  }
  if (auto ok = check_validity(validity); !ok) return ok.error();
  auto authority = load_authority(issuer, "issuer", now);
  if (!authority) return authority.error();

  auto cert =
      new_certificate(public_key, now - kClockSkew, std::min(now + validity, authority->not_after));
  if (!cert) return cert.error();
  X509* c = cert->get();
  X509* ca = authority->cert.get();
  // The CN repeats the DNS name when it fits (64 characters); without a
  // subject the SAN must be critical (RFC 5280 4.2.1.6).
  const std::string dns_name = identity.dns_name();
  const bool has_subject = dns_name.size() <= ub_common_name;
  auto names = workload_names(identity);
  if (!names || (has_subject && !set_common_name(X509_get_subject_name(c), dns_name)) ||
      X509_set_issuer_name(c, X509_get_subject_name(ca)) != 1 ||
      !add_extension(c, ca, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(c, ca, NID_key_usage, "critical,digitalSignature") ||
      !add_extension(c, ca, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !add_extension(c, ca, NID_subject_key_identifier, "hash") ||
      !add_extension(c, ca, NID_authority_key_identifier, "keyid:always") ||
      X509_add1_ext_i2d(c, NID_subject_alt_name, names.get(), has_subject ? 0 : 1,
                        X509V3_ADD_DEFAULT) != 1) {
    return Error{"cannot build the leaf certificate"};
  }
  auto signed_leaf = sign_and_encode(c, authority->key.get(), nullptr);
  if (!signed_leaf) return signed_leaf.error();
  return std::move(signed_leaf->cert_pem);
}

Result<CertificateFacts> inspect_certificate(std::string_view cert_pem) {
  ClearOpenSslErrors clear;
  auto cert = parse_first_certificate(cert_pem, "certificate");
  if (!cert) return cert.error();
  X509* c = cert->get();
  const auto not_before = to_time_point(X509_get0_notBefore(c));
  const auto not_after = to_time_point(X509_get0_notAfter(c));
  if (!not_before || !not_after) return Error{"certificate has an unreadable validity period"};
  CertificateFacts facts;
  facts.not_before = *not_before;
  facts.not_after = *not_after;
  facts.is_ca = X509_check_ca(c) != 0;
  facts.subject = subject_line(c);
  Owned<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI && name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* text =
        name->type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                      static_cast<std::size_t>(ASN1_STRING_length(text)));
    (name->type == GEN_URI ? facts.uris : facts.dns_names).push_back(std::move(value));
  }
  return facts;
}

Result<std::vector<std::string>> split_certificates(std::string_view bundle_pem) {
  ClearOpenSslErrors clear;
  auto certs = parse_certificates(bundle_pem, "certificate bundle");
  if (!certs) return certs.error();
  std::vector<std::string> pems;
  for (const auto& cert : *certs) {
    auto text = openssl::certificate_pem(cert.get());
    if (!text) return text.error();
    pems.push_back(std::move(*text));
  }
  return pems;
}

Result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem) {
  ClearOpenSslErrors clear;
  auto cert = parse_first_certificate(cert_pem, "certificate");
  if (!cert) return cert.error();
  auto key = parse_private_key(key_pem, "private key");
  if (!key) return key.error();
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
    return Error{"the private key does not belong to the certificate"};
  }
  return {};
}

namespace {

// X.509 strict verification of chain[0] (chain[1..] untrusted intermediates)
// against `anchors` at `now`; `purpose` 0 checks no purpose.
Result<void> verify_certificates(const std::vector<Cert>& chain, const std::vector<Cert>& anchors,
                                 TimePoint now, int purpose) {
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<STACK_OF(X509)> untrusted(sk_X509_new_null());
  Owned<X509_STORE_CTX> context(X509_STORE_CTX_new());
  if (!store || !untrusted || !context) return Error{"out of memory"};
  for (const auto& anchor : anchors) {
    if (X509_STORE_add_cert(store.get(), anchor.get()) != 1) {
      return Error{"cannot add a trust anchor"};
    }
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].get()) == 0) return Error{"out of memory"};
  }
  X509* leaf = chain.front().get();
  if (X509_STORE_CTX_init(context.get(), store.get(), leaf, untrusted.get()) != 1) {
    return Error{"cannot start the chain check"};
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_set_time(param, to_time_t(now));
  if (purpose != 0) X509_STORE_CTX_set_purpose(context.get(), purpose);
  if (X509_verify_cert(context.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(context.get());
    X509* at_fault = X509_STORE_CTX_get_current_cert(context.get());
    const int depth = X509_STORE_CTX_get_error_depth(context.get());
    return Error{fmt::format("{} ({})", verify_failure(error, at_fault, depth),
                             subject_line(at_fault != nullptr ? at_fault : leaf))};
  }
  return {};
}

}  // namespace

Result<WorkloadIdentity> verify_workload_chain(std::string_view chain_pem,
                                               std::string_view anchors_pem,
                                               std::string_view trust_domain, TimePoint now) {
  ClearOpenSslErrors clear;
  auto chain = parse_certificates(chain_pem, "certificate chain");
  if (!chain) return chain.error();
  auto anchors = parse_certificates(anchors_pem, "trust anchors");
  if (!anchors) return anchors.error();
  X509* leaf = chain->front().get();
  // A workload's certificate is never a CA (SPIFFE X509-SVID): a CA
  // certificate presented as a leaf is refused even if it names an identity.
  if (X509_check_ca(leaf) != 0) {
    return Error{fmt::format("the certificate is a CA, not a workload's ({})", subject_line(leaf))};
  }
  // Mesh leaves serve both ends of a connection: the client purpose here, the
  // server's EKU below.
  if (auto verified = verify_certificates(*chain, *anchors, now, X509_PURPOSE_SSL_CLIENT);
      !verified) {
    return verified.error();
  }
  if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1) {
    return Error{fmt::format("{} ({})", verify_failure(X509_V_ERR_INVALID_PURPOSE, leaf, 0),
                             subject_line(leaf))};
  }
  return spiffe_identity_of(leaf, trust_domain);
}

Result<void> verify_chain(std::string_view chain_pem, std::string_view anchors_pem, TimePoint now) {
  ClearOpenSslErrors clear;
  auto chain = parse_certificates(chain_pem, "certificate chain");
  if (!chain) return chain.error();
  auto anchors = parse_certificates(anchors_pem, "trust anchors");
  if (!anchors) return anchors.error();
  return verify_certificates(*chain, *anchors, now, 0);
}

Result<WorkloadIdentity> certificate_identity(std::string_view cert_pem,
                                              std::string_view trust_domain) {
  ClearOpenSslErrors clear;
  auto cert = parse_first_certificate(cert_pem, "certificate");
  if (!cert) return cert.error();
  return spiffe_identity_of(cert->get(), trust_domain);
}

}  // namespace weft::identity
