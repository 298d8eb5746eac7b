#include "identity/signer.h"

#include <algorithm>

#include "weft/http/certificates.h"

namespace weft::identity {

IssuerSigner::IssuerSigner(KeyedCertificate issuer, std::string chain_pem,
                           std::chrono::system_clock::time_point issuer_not_after,
                           std::chrono::seconds leaf_lifetime)
    : issuer_(std::move(issuer)),
      chain_pem_(std::move(chain_pem)),
      issuer_not_after_(issuer_not_after),
      leaf_lifetime_(leaf_lifetime) {}

Result<LeafSigner::Leaf> IssuerSigner::sign(std::string_view csr_pem,
                                            const WorkloadIdentity& identity,
                                            std::chrono::system_clock::time_point now) {
  auto leaf = issue_leaf(issuer_, csr_pem, identity, leaf_lifetime_, now);
  if (!leaf) return leaf.error();
  // What issue_leaf writes (whole seconds, never past the issuer), computed
  // rather than read back: parsing the leaf again would cost as much as a
  // TokenReview.
  const auto not_after =
      std::chrono::floor<std::chrono::seconds>(std::min(now + leaf_lifetime_, issuer_not_after_));
  return Leaf{std::move(*leaf), not_after};
}

Result<KeyedCertificate> make_serving_certificate(const IssuerSigner& signer,
                                                  const std::vector<std::string>& dns_names,
                                                  const WorkloadIdentity& self,
                                                  std::chrono::seconds lifetime,
                                                  std::chrono::system_clock::time_point now) {
  auto issuer = inspect_certificate(signer.issuer().cert_pem);
  if (!issuer) return Error{"issuer: " + issuer.error().message};
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(issuer->not_after - now);
  if (left <= std::chrono::seconds(0)) return Error{"the issuer has expired"};
  http::CertificateRequest request;
  request.common_name = dns_names.empty() ? self.uri() : dns_names.front();
  request.dns_names = dns_names;
  request.uris = {self.uri()};
  request.validity = std::min(lifetime, left);
  auto serving = http::issue_certificate(
      http::PemCertificate{signer.issuer().cert_pem, signer.issuer().key_pem}, request);
  if (!serving) return serving.error();
  std::string chain = serving->cert;
  if (!chain.empty() && chain.back() != '\n') chain += '\n';
  return KeyedCertificate{chain + signer.chain_pem(), std::move(serving->key)};
}

}  // namespace weft::identity
