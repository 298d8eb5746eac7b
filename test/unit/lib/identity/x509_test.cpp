#include "weft/identity/x509.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "weft/openssl.h"

using namespace std::chrono_literals;
using namespace weft::identity;

namespace {

// Fixed times make the messages checkable: 2026-12-03T10:00:00Z.
const TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} + 10h;

using weft::openssl::bio_text;
using weft::openssl::Owned;

Owned<X509> parse(const std::string& pem) {
  auto cert = weft::openssl::read_certificate(pem);
  REQUIRE(cert);
  return cert;
}

Owned<EVP_PKEY> parse_key(const std::string& pem) {
  auto key = weft::openssl::read_private_key(pem);
  REQUIRE(key);
  return key;
}

bool is_critical(X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  REQUIRE(index >= 0);
  return X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

// A CSR for `key` (any type), as a proxy of another make would send.
std::string csr_for(EVP_PKEY* key) {
  Owned<X509_REQ> request(X509_REQ_new());
  REQUIRE(X509_REQ_set_pubkey(request.get(), key) == 1);
  REQUIRE(X509_REQ_sign(request.get(), key, EVP_sha256()) > 0);
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509_REQ(bio.get(), request.get()) == 1);
  return bio_text(bio.get());
}

// A leaf signed by `issuer` with chosen URI SANs and extended key usage: the
// certificates Weft never makes, to check what the verifier refuses.
std::string custom_leaf(const KeyedCertificate& issuer, const std::vector<std::string>& uris,
                        const char* extended_key_usage) {
  auto ca = parse(issuer.cert_pem);
  auto ca_key = parse_key(issuer.key_pem);
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Owned<X509> cert(X509_new());
  X509* c = cert.get();
  REQUIRE(X509_set_version(c, X509_VERSION_3) == 1);
  ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
  ASN1_TIME_set(X509_getm_notBefore(c), std::chrono::system_clock::to_time_t(kNow - 1h));
  ASN1_TIME_set(X509_getm_notAfter(c), std::chrono::system_clock::to_time_t(kNow + 1h));
  X509_set_pubkey(c, key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("custom"), -1, -1, 0);
  X509_set_issuer_name(c, X509_get_subject_name(ca.get()));
  std::string san = "DNS:custom.example";
  for (const auto& uri : uris) san += ",URI:" + uri;
  for (const auto& [nid, value] :
       std::vector<std::pair<int, std::string>>{{NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, "critical,digitalSignature"},
                                                {NID_ext_key_usage, extended_key_usage},
                                                {NID_subject_key_identifier, "hash"},
                                                {NID_authority_key_identifier, "keyid:always"},
                                                {NID_subject_alt_name, san}}) {
    REQUIRE(weft::openssl::add_extension(c, ca.get(), nid, value.c_str()));
  }
  REQUIRE(X509_sign(c, ca_key.get(), EVP_sha256()) > 0);
  auto pem = weft::openssl::certificate_pem(c);
  REQUIRE(pem);
  return *pem;
}

struct Mesh {
  KeyedCertificate anchor;
  KeyedCertificate issuer;
};

Mesh make_mesh(std::string_view trust_domain = "cluster.local", TimePoint now = kNow) {
  auto anchor = make_trust_anchor(trust_domain, 24h * 365, now);
  REQUIRE(anchor);
  auto issuer = make_issuer(*anchor, trust_domain, 24h * 30, now);
  REQUIRE(issuer);
  return Mesh{*anchor, *issuer};
}

const WorkloadIdentity kWeb{"cluster.local", "shop", "web"};

std::string leaf_for(const Mesh& mesh, const WorkloadIdentity& identity = kWeb,
                     TimePoint now = kNow, std::chrono::seconds validity = 24h) {
  auto request = make_certificate_request(identity);
  REQUIRE(request);
  auto leaf = issue_leaf(mesh.issuer, request->csr_pem, identity, validity, now);
  REQUIRE(leaf);
  return *leaf;
}

std::string verify_error(const std::string& chain, const std::string& anchors,
                         std::string_view trust_domain = "cluster.local", TimePoint now = kNow) {
  auto verified = verify_workload_chain(chain, anchors, trust_domain, now);
  REQUIRE_FALSE(verified);
  return verified.error().message;
}

}  // namespace

TEST_CASE("x509: anchor, issuer and leaf verify and name the identity", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  auto request = make_certificate_request(kWeb);
  REQUIRE(request);
  CHECK(check_key_matches(custom_leaf(mesh.issuer, {}, "serverAuth"), request->key_pem)
            .error()
            .message == "the private key does not belong to the certificate");
  auto leaf = issue_leaf(mesh.issuer, request->csr_pem, kWeb, 24h, kNow);
  REQUIRE(leaf);
  CHECK(check_key_matches(*leaf, request->key_pem));

  auto identity = verify_workload_chain(*leaf + mesh.issuer.cert_pem, mesh.anchor.cert_pem,
                                        "cluster.local", kNow);
  REQUIRE(identity);
  CHECK(*identity == kWeb);
  auto named = certificate_identity(*leaf, "cluster.local");
  REQUIRE(named);
  CHECK(*named == kWeb);

  auto facts = inspect_certificate(*leaf);
  REQUIRE(facts);
  CHECK_FALSE(facts->is_ca);
  CHECK(facts->uris == std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/web"});
  CHECK(facts->dns_names ==
        std::vector<std::string>{"web.shop.serviceaccount.identity.weft.cluster.local"});
  CHECK(facts->subject == "CN=web.shop.serviceaccount.identity.weft.cluster.local");
  CHECK(facts->not_before == kNow - 1min);
  CHECK(facts->not_after == kNow + 24h);
  CHECK(inspect_certificate(mesh.anchor.cert_pem)->is_ca);
  CHECK(inspect_certificate(mesh.issuer.cert_pem)->is_ca);
}

TEST_CASE("x509: the extensions of each certificate", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  auto anchor = parse(mesh.anchor.cert_pem);
  auto issuer = parse(mesh.issuer.cert_pem);
  auto leaf = parse(leaf_for(mesh));

  CHECK(X509_check_ca(anchor.get()) != 0);
  CHECK(X509_get_pathlen(anchor.get()) == 1);
  CHECK(is_critical(anchor.get(), NID_basic_constraints));
  CHECK(is_critical(anchor.get(), NID_key_usage));
  CHECK(X509_get_key_usage(anchor.get()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(X509_get0_subject_key_id(anchor.get()) != nullptr);
  CHECK((X509_get_extension_flags(anchor.get()) & EXFLAG_SS) != 0);

  CHECK(X509_check_ca(issuer.get()) != 0);
  CHECK(X509_get_pathlen(issuer.get()) == 0);
  CHECK(X509_get_key_usage(issuer.get()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  REQUIRE(X509_get0_authority_key_id(issuer.get()) != nullptr);
  CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(issuer.get()),
                              X509_get0_subject_key_id(anchor.get())) == 0);
  CHECK(X509_check_issued(anchor.get(), issuer.get()) == X509_V_OK);

  CHECK(X509_check_ca(leaf.get()) == 0);
  CHECK(is_critical(leaf.get(), NID_basic_constraints));
  CHECK(is_critical(leaf.get(), NID_key_usage));
  CHECK(X509_get_key_usage(leaf.get()) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(leaf.get()) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CHECK(X509_check_issued(issuer.get(), leaf.get()) == X509_V_OK);
  // 128 random bits: at least 15 bytes (a leading zero byte is 1 in 256).
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.get());
  CHECK(ASN1_STRING_length(serial) >= 15);
  CHECK(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(parse(leaf_for(mesh)).get())) != 0);
  EVP_PKEY* public_key = X509_get0_pubkey(leaf.get());
  CHECK(EVP_PKEY_is_a(public_key, "EC"));
  CHECK(EVP_PKEY_get_bits(public_key) == 256);
}

TEST_CASE("x509: the leaf names the vouched identity, not what the CSR asks", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  auto request =
      make_certificate_request(WorkloadIdentity{"cluster.local", "kube-system", "admin"});
  REQUIRE(request);
  auto leaf = issue_leaf(mesh.issuer, request->csr_pem, kWeb, 24h, kNow);
  REQUIRE(leaf);
  auto facts = inspect_certificate(*leaf);
  REQUIRE(facts);
  CHECK(facts->uris == std::vector<std::string>{kWeb.uri()});
  CHECK(facts->dns_names == std::vector<std::string>{kWeb.dns_name()});
}

TEST_CASE("x509: lifetimes never pass the certificate above", "[identity][x509]") {
  auto anchor = make_trust_anchor("cluster.local", 48h, kNow);
  REQUIRE(anchor);
  auto issuer = make_issuer(*anchor, "cluster.local", 24h * 365, kNow + 1h);
  REQUIRE(issuer);
  CHECK(inspect_certificate(issuer->cert_pem)->not_after == kNow + 48h);
  const Mesh mesh{*anchor, *issuer};
  auto leaf = leaf_for(mesh, kWeb, kNow + 47h, 24h);
  CHECK(inspect_certificate(leaf)->not_after == kNow + 48h);
  CHECK(inspect_certificate(leaf)->not_before == kNow + 47h - 1min);

  auto late = make_issuer(*anchor, "cluster.local", 24h, kNow + 49h);
  REQUIRE_FALSE(late);
  CHECK(late.error().message ==
        "trust anchor certificate has expired (notAfter 2026-12-05T10:00:00Z)");
  auto request = make_certificate_request(kWeb);
  REQUIRE(request);
  auto expired_issuer = issue_leaf(mesh.issuer, request->csr_pem, kWeb, 24h, kNow + 49h);
  REQUIRE_FALSE(expired_issuer);
  CHECK(expired_issuer.error().message ==
        "issuer certificate has expired (notAfter 2026-12-05T10:00:00Z)");
  CHECK_THAT(make_trust_anchor("cluster.local", 0s, kNow).error().message,
             Catch::Contains("validity must be positive"));
  CHECK_THAT(make_trust_anchor("Cluster.local", 1h, kNow).error().message,
             Catch::Contains("lowercase"));
}

TEST_CASE("x509: expired and not-yet-valid leaves refused with the time", "[identity][x509]") {
  const Mesh mesh = make_mesh("cluster.local", kNow - 2h);
  const std::string chain = leaf_for(mesh) + mesh.issuer.cert_pem;
  CHECK(verify_workload_chain(chain, mesh.anchor.cert_pem, "cluster.local", kNow + 23h));
  CHECK(verify_error(chain, mesh.anchor.cert_pem, "cluster.local", kNow + 25h) ==
        "certificate has expired (notAfter 2026-12-04T10:00:00Z) "
        "(CN=web.shop.serviceaccount.identity.weft.cluster.local)");
  CHECK(verify_error(chain, mesh.anchor.cert_pem, "cluster.local", kNow - 30min) ==
        "certificate is not yet valid (notBefore 2026-12-03T09:59:00Z) "
        "(CN=web.shop.serviceaccount.identity.weft.cluster.local)");
  CHECK_THAT(verify_error(chain, mesh.anchor.cert_pem, "cluster.local", kNow + 24h * 400),
             Catch::Contains("has expired"));
}

TEST_CASE("x509: expired CAs above the leaf are named", "[identity][x509]") {
  auto anchor = make_trust_anchor("cluster.local", 24h * 10, kNow);
  REQUIRE(anchor);
  auto issuer = make_issuer(*anchor, "cluster.local", 24h * 5, kNow);
  REQUIRE(issuer);
  const Mesh mesh{*anchor, *issuer};
  const std::string chain = leaf_for(mesh, kWeb, kNow, 24h * 30) + issuer->cert_pem;
  CHECK(inspect_certificate(chain)->not_after == kNow + 24h * 5);
  // The leaf is clamped to the issuer, so the issuer and the leaf expire together;
  // past the anchor's end the anchor is named.
  CHECK_THAT(verify_error(chain, anchor->cert_pem, "cluster.local", kNow + 24h * 11),
             Catch::StartsWith("trust anchor has expired (notAfter 2026-12-13T10:00:00Z)"));
}

TEST_CASE("x509: chains that carry the anchor, a doubled anchor, long names", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  const std::string leaf = leaf_for(mesh);
  CHECK(verify_workload_chain(leaf + mesh.issuer.cert_pem + mesh.anchor.cert_pem,
                              mesh.anchor.cert_pem, "cluster.local", kNow));
  CHECK(verify_workload_chain(leaf + mesh.issuer.cert_pem,
                              mesh.anchor.cert_pem + mesh.anchor.cert_pem, "cluster.local", kNow));
  // A DNS name over 64 characters cannot be the CN: the subject is empty and
  // the SAN critical, which strict verification accepts.
  const WorkloadIdentity long_name{"cluster.local", "payments-production",
                                   "checkout-service-account"};
  REQUIRE(long_name.dns_name().size() > 64);
  auto request = make_certificate_request(long_name);
  REQUIRE(request);
  auto long_leaf = issue_leaf(mesh.issuer, request->csr_pem, long_name, 24h, kNow);
  REQUIRE(long_leaf);
  CHECK(inspect_certificate(*long_leaf)->subject == "(empty subject)");
  CHECK(is_critical(parse(*long_leaf).get(), NID_subject_alt_name));
  auto verified = verify_workload_chain(*long_leaf + mesh.issuer.cert_pem, mesh.anchor.cert_pem,
                                        "cluster.local", kNow);
  REQUIRE(verified);
  CHECK(*verified == long_name);
}

TEST_CASE("x509: a chain to another anchor is refused", "[identity][x509]") {
  const Mesh ours = make_mesh();
  const Mesh theirs = make_mesh();
  const std::string foreign_leaf = leaf_for(theirs);
  CHECK_THAT(verify_error(foreign_leaf + theirs.issuer.cert_pem, ours.anchor.cert_pem),
             Catch::StartsWith("signed by an unknown authority"));
  // A foreign leaf presented with our issuer: its signature is not our issuer's.
  CHECK_THAT(verify_error(foreign_leaf + ours.issuer.cert_pem, ours.anchor.cert_pem),
             Catch::Contains("unknown authority") || Catch::Contains("signature"));
  // No intermediate at all.
  CHECK_THAT(verify_error(leaf_for(ours), ours.anchor.cert_pem),
             Catch::StartsWith("signed by an unknown authority"));
  // The issuer is not an anchor: only self-signed anchors are trusted.
  CHECK_THAT(verify_error(leaf_for(ours), ours.issuer.cert_pem),
             Catch::StartsWith("signed by an unknown authority"));
  // A CA presented as the workload's certificate.
  CHECK(verify_error(ours.issuer.cert_pem, ours.anchor.cert_pem) ==
        "the certificate is a CA, not a workload's (CN=issuer.identity.weft.cluster.local)");
  CHECK(verify_error(ours.anchor.cert_pem, ours.anchor.cert_pem) ==
        "the certificate is a CA, not a workload's (CN=root.identity.weft.cluster.local)");
}

TEST_CASE("x509: verify_chain checks an issuer against anchors, for no purpose",
          "[identity][x509]") {
  const Mesh ours = make_mesh();
  const Mesh theirs = make_mesh();
  // A CA as the first certificate is fine here (weftctl checks issuers so).
  CHECK(verify_chain(ours.issuer.cert_pem, ours.anchor.cert_pem, kNow));
  CHECK(verify_chain(ours.issuer.cert_pem, theirs.anchor.cert_pem + ours.anchor.cert_pem, kNow));
  CHECK(verify_chain(leaf_for(ours) + ours.issuer.cert_pem, ours.anchor.cert_pem, kNow));
  auto foreign = verify_chain(theirs.issuer.cert_pem, ours.anchor.cert_pem, kNow);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().message ==
        "signed by an unknown authority (no trust anchor issued this chain) "
        "(CN=issuer.identity.weft.cluster.local)");
  auto expired = verify_chain(ours.issuer.cert_pem, ours.anchor.cert_pem, kNow + 24h * 31);
  REQUIRE_FALSE(expired);
  CHECK_THAT(expired.error().message,
             Catch::StartsWith("certificate has expired (notAfter 2027-01-02T10:00:00Z)"));
  CHECK_FALSE(verify_chain("garbage", ours.anchor.cert_pem, kNow));
}

TEST_CASE("x509: during a rotation both anchors verify their leaves", "[identity][x509]") {
  const Mesh old_mesh = make_mesh();
  const Mesh new_mesh = make_mesh();
  const std::string bundle = old_mesh.anchor.cert_pem + new_mesh.anchor.cert_pem;
  auto split = split_certificates(bundle);
  REQUIRE(split);
  CHECK(split->size() == 2);
  CHECK((*split)[0] == old_mesh.anchor.cert_pem);
  CHECK((*split)[1] == new_mesh.anchor.cert_pem);

  const std::string old_chain = leaf_for(old_mesh) + old_mesh.issuer.cert_pem;
  const std::string new_chain = leaf_for(new_mesh) + new_mesh.issuer.cert_pem;
  CHECK(verify_workload_chain(old_chain, bundle, "cluster.local", kNow));
  CHECK(verify_workload_chain(new_chain, bundle, "cluster.local", kNow));
  CHECK(verify_workload_chain(new_chain, new_mesh.anchor.cert_pem + old_mesh.anchor.cert_pem,
                              "cluster.local", kNow));
  // After the old anchor is removed, its leaves are refused.
  CHECK_THAT(verify_error(old_chain, new_mesh.anchor.cert_pem),
             Catch::StartsWith("signed by an unknown authority"));
}

TEST_CASE("x509: the SPIFFE ID must be one, valid, and in the trust domain", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  const std::string& anchors = mesh.anchor.cert_pem;
  const std::string& issuer = mesh.issuer.cert_pem;
  CHECK(verify_error(custom_leaf(mesh.issuer, {}, "serverAuth,clientAuth") + issuer, anchors) ==
        "no SPIFFE ID in the certificate (no URI SAN)");
  CHECK(verify_error(
            custom_leaf(mesh.issuer,
                        {"spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/sa/d"},
                        "serverAuth,clientAuth") +
                issuer,
            anchors) == "the certificate has 2 URI SANs; a SPIFFE certificate has exactly one");
  CHECK_THAT(verify_error(custom_leaf(mesh.issuer, {"spiffe://cluster.local/ns/a/sa/b/c"},
                                      "serverAuth,clientAuth") +
                              issuer,
                          anchors),
             Catch::Contains("has path segments after /sa/<account>"));
  CHECK_THAT(
      verify_error(
          custom_leaf(mesh.issuer, {"spiffe://cluster.local/ns/a/sa/b"}, "serverAuth") + issuer,
          anchors),
      Catch::StartsWith("certificate is not for mesh TLS"));
  CHECK_THAT(
      verify_error(
          custom_leaf(mesh.issuer, {"spiffe://cluster.local/ns/a/sa/b"}, "clientAuth") + issuer,
          anchors),
      Catch::StartsWith("certificate is not for mesh TLS"));
  CHECK(verify_workload_chain(
      custom_leaf(mesh.issuer, {"spiffe://cluster.local/ns/a/sa/b"}, "serverAuth,clientAuth") +
          issuer,
      anchors, "cluster.local", kNow));

  const Mesh other = make_mesh("example.org");
  const WorkloadIdentity elsewhere{"example.org", "shop", "web"};
  CHECK(verify_error(leaf_for(other, elsewhere) + other.issuer.cert_pem, other.anchor.cert_pem,
                     "cluster.local") == "trust domain is example.org, expected cluster.local");
  CHECK(certificate_identity(mesh.anchor.cert_pem, "cluster.local").error().message ==
        "no SPIFFE ID in the certificate (no URI SAN)");
}

TEST_CASE("x509: CSRs refused with the reason", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  auto good = make_certificate_request(kWeb);
  REQUIRE(good);
  const std::string& csr = good->csr_pem;
  auto refused = [&](const std::string& text) {
    auto leaf = issue_leaf(mesh.issuer, text, kWeb, 24h, kNow);
    REQUIRE_FALSE(leaf);
    return leaf.error().message;
  };

  SECTION("RSA 2048") {
    Owned<EVP_PKEY> rsa(EVP_RSA_gen(2048));
    CHECK(refused(csr_for(rsa.get())) ==
          "CSR key is RSA 2048 bits; only ECDSA P-256 (prime256v1) is accepted");
  }
  SECTION("P-384") {
    Owned<EVP_PKEY> p384(EVP_EC_gen("P-384"));
    CHECK(refused(csr_for(p384.get())) ==
          "CSR key is EC secp384r1; only ECDSA P-256 (prime256v1) is accepted");
  }
  SECTION("another P-256 CSR of ours is accepted") {
    Owned<EVP_PKEY> p256(EVP_EC_gen("P-256"));
    CHECK(issue_leaf(mesh.issuer, csr_for(p256.get()), kWeb, 24h, kNow));
  }
  SECTION("broken signature") {
    const auto in = weft::openssl::memory_bio(csr);
    Owned<X509_REQ> request(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
    REQUIRE(request);
    unsigned char* der = nullptr;
    const int length = i2d_X509_REQ(request.get(), &der);
    REQUIRE(length > 0);
    der[length - 1] ^= 0x01;  // the last byte of the signature's s value
    Owned<BIO> out(BIO_new(BIO_s_mem()));
    PEM_write_bio(out.get(), "CERTIFICATE REQUEST", "", der, length);
    OPENSSL_free(der);
    CHECK(refused(bio_text(out.get())) ==
          "CSR signature does not verify (the request was not signed by its key)");
  }
  SECTION("over the size bound") {
    const std::string padded = csr + std::string(kMaxCsrBytes, '\n');
    CHECK(refused(padded) ==
          "CSR is " + std::to_string(padded.size()) + " bytes, more than the 8192 allowed");
  }
  SECTION("trailing garbage") {
    CHECK(refused(csr + "garbage\n") == "CSR has text outside its PEM blocks");
    CHECK(refused("garbage\n" + csr) == "CSR has text outside its PEM blocks");
  }
  SECTION("two CSRs") {
    CHECK(refused(csr + csr) == "CSR text holds 2 PEM blocks; send exactly one");
  }
  SECTION("not a CSR") {
    CHECK(refused("") == "CSR holds no PEM block");
    CHECK(refused(mesh.issuer.cert_pem) ==
          "CSR is a \"CERTIFICATE\" block, not a CERTIFICATE REQUEST");
    CHECK(
        refused("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n") ==
        "CSR is not a valid PKCS#10 request");
    CHECK(
        refused("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n") ==
        "CSR has a malformed PEM block (block 1)");
  }
  SECTION("whitespace around the CSR is fine") {
    CHECK(issue_leaf(mesh.issuer, "\n\r\n" + csr + "\n\n", kWeb, 24h, kNow));
    // A BEGIN line must start the line (RFC 7468).
    CHECK(refused("  " + csr) == "CSR has a malformed PEM block (block 1)");
  }
  SECTION("an identity that is not valid") {
    CHECK_THAT(
        issue_leaf(mesh.issuer, csr, WorkloadIdentity{"cluster.local", "Shop", "web"}, 24h, kNow)
            .error()
            .message,
        Catch::Contains("not a DNS-1123 label"));
  }
  SECTION("an issuer whose halves do not match") {
    const Mesh other = make_mesh();
    CHECK(issue_leaf(KeyedCertificate{mesh.issuer.cert_pem, other.issuer.key_pem}, csr, kWeb, 24h,
                     kNow)
              .error()
              .message == "issuer key does not match its certificate");
  }
}

TEST_CASE("x509: bundles refuse what is not a certificate", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  const std::string& a = mesh.anchor.cert_pem;
  CHECK(split_certificates("").error().message == "certificate bundle holds no PEM block");
  CHECK(split_certificates(" \n").error().message == "certificate bundle holds no PEM block");
  CHECK(split_certificates(a + "junk").error().message ==
        "certificate bundle has text outside its PEM blocks");
  CHECK(split_certificates(a + "junk\n" + a).error().message ==
        "certificate bundle has text outside its PEM blocks");
  std::string no_final_newline = a;
  no_final_newline.pop_back();
  CHECK(split_certificates(no_final_newline));
  std::string end_line_garbage = a;
  end_line_garbage.insert(end_line_garbage.size() - 1, "x");
  CHECK(split_certificates(end_line_garbage).error().message ==
        "certificate bundle has a malformed PEM block (block 1)");
  std::string encrypted = a;
  encrypted.insert(encrypted.find('\n') + 1, "Proc-Type: 4,ENCRYPTED\n\n");
  CHECK_FALSE(split_certificates(encrypted));
  CHECK(split_certificates(a + mesh.anchor.key_pem).error().message ==
        "certificate bundle holds a \"PRIVATE KEY\" block; only CERTIFICATE blocks belong there");
  CHECK(split_certificates(std::string(kMaxPemBundleBytes + 1, '\n')).error().message ==
        "certificate bundle is 262145 bytes, more than the 262144 allowed");
  std::string many;
  for (std::size_t i = 0; i <= kMaxCertificatesInBundle; ++i) many += a;
  CHECK_THAT(split_certificates(many).error().message, Catch::Contains("more than the 64 allowed"));
  CHECK_THAT(verify_error(leaf_for(mesh) + mesh.issuer.cert_pem, a + "junk"),
             Catch::StartsWith("trust anchors has text outside"));
  CHECK_THAT(verify_error("", a), Catch::StartsWith("certificate chain holds no PEM block"));
}

TEST_CASE("x509: a key and a certificate that do not belong together", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  CHECK(check_key_matches(mesh.anchor.cert_pem, mesh.anchor.key_pem));
  CHECK(check_key_matches(mesh.issuer.cert_pem, mesh.issuer.key_pem));
  CHECK(check_key_matches(mesh.issuer.cert_pem, mesh.anchor.key_pem).error().message ==
        "the private key does not belong to the certificate");
  CHECK(check_key_matches(mesh.issuer.cert_pem, "junk").error().message ==
        "private key has text outside its PEM blocks");
  CHECK(check_key_matches(mesh.issuer.cert_pem, mesh.issuer.cert_pem).error().message ==
        "private key is a \"CERTIFICATE\" block, not a PRIVATE KEY");
  CHECK(check_key_matches("junk", mesh.issuer.key_pem).error().message ==
        "certificate has text outside its PEM blocks");
  auto wrong_anchor = make_issuer(KeyedCertificate{mesh.anchor.cert_pem, mesh.issuer.key_pem},
                                  "cluster.local", 24h, kNow);
  CHECK(wrong_anchor.error().message == "trust anchor key does not match its certificate");
  auto leaf_as_anchor = make_issuer(KeyedCertificate{leaf_for(mesh), mesh.issuer.key_pem},
                                    "cluster.local", 24h, kNow);
  CHECK_THAT(leaf_as_anchor.error().message, Catch::Contains("key does not match"));
}

TEST_CASE("x509: a SEC1 EC key (cert-manager's) is read too", "[identity][x509]") {
  const Mesh mesh = make_mesh();
  auto key = parse_key(mesh.issuer.key_pem);
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  // The traditional (SEC1) form: "EC PRIVATE KEY".
  REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                               nullptr) == 1);
  const std::string sec1 = bio_text(bio.get());
  REQUIRE_THAT(sec1, Catch::StartsWith("-----BEGIN EC PRIVATE KEY-----"));
  CHECK(check_key_matches(mesh.issuer.cert_pem, sec1));
}

TEST_CASE("x509: timings", "[.bench]") {
  // CPU time of this process (the machine may be shared): one thread here.
  struct Clock {
    using duration = std::chrono::nanoseconds;
    static std::chrono::time_point<Clock, duration> now() {
      timespec t{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
      return std::chrono::time_point<Clock, duration>(std::chrono::seconds(t.tv_sec) +
                                                      std::chrono::nanoseconds(t.tv_nsec));
    }
  };
  const Mesh mesh = make_mesh();
  constexpr int kRounds = 1000;
  auto micros = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / kRounds;
  };
  std::vector<KeyAndRequest> requests;
  auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) requests.push_back(*make_certificate_request(kWeb));
  const auto request_time = Clock::now() - start;
  std::vector<std::string> leaves;
  start = Clock::now();
  for (const auto& request : requests) {
    leaves.push_back(*issue_leaf(mesh.issuer, request.csr_pem, kWeb, 24h, kNow));
  }
  const auto issue_time = Clock::now() - start;
  start = Clock::now();
  int verified = 0;
  for (const auto& leaf : leaves) {
    verified += verify_workload_chain(leaf + mesh.issuer.cert_pem, mesh.anchor.cert_pem,
                                      "cluster.local", kNow)
                    ? 1
                    : 0;
  }
  const auto verify_time = Clock::now() - start;
  CHECK(verified == kRounds);
  start = Clock::now();
  int inspected = 0;
  for (const auto& leaf : leaves) inspected += inspect_certificate(leaf) ? 1 : 0;
  const auto inspect_time = Clock::now() - start;
  CHECK(inspected == kRounds);
  WARN("CPU per operation: key + CSR: " << micros(request_time)
                                        << " us; issue leaf: " << micros(issue_time)
                                        << " us; verify chain: " << micros(verify_time)
                                        << " us; parse one certificate: " << micros(inspect_time)
                                        << " us (mean of " << kRounds << ")");
}
