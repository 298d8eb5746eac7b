#pragma once

// The LeafSigner over an issuer's certificate and key (lib/weft/identity/x509.h),
// and the serving certificate weft-identity presents, signed by the same issuer.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "identity/issuance.h"
#include "weft/identity/x509.h"

namespace weft::identity {

class IssuerSigner final : public LeafSigner {
 public:
  // `chain_pem`: the issuer first, then any intermediates (not the anchor);
  // `issuer_not_after`: the issuer's end, which no leaf passes.
  IssuerSigner(KeyedCertificate issuer, std::string chain_pem,
               std::chrono::system_clock::time_point issuer_not_after,
               std::chrono::seconds leaf_lifetime);

  Result<Leaf> sign(std::string_view csr_pem, const WorkloadIdentity& identity,
                    std::chrono::system_clock::time_point now) override;
  const std::string& chain_pem() const override { return chain_pem_; }
  std::chrono::system_clock::time_point not_after() const override { return issuer_not_after_; }
  const KeyedCertificate& issuer() const { return issuer_; }

 private:
  const KeyedCertificate issuer_;
  const std::string chain_pem_;
  const std::chrono::system_clock::time_point issuer_not_after_;
  const std::chrono::seconds leaf_lifetime_;
};

// The serving certificate: DNS names and the SPIFFE ID of weft-identity's own
// ServiceAccount, at most `lifetime` and never past the issuer. `cert_pem`
// holds the leaf then the issuer's chain.
Result<KeyedCertificate> make_serving_certificate(const IssuerSigner& signer,
                                                  const std::vector<std::string>& dns_names,
                                                  const WorkloadIdentity& self,
                                                  std::chrono::seconds lifetime,
                                                  std::chrono::system_clock::time_point now);

}  // namespace weft::identity
