#include "identity/assess.h"

#include <fmt/format.h>

#include "weft/constants.h"
#include "weft/identity/x509.h"

namespace weft::identity {
namespace {

// The identity of the throwaway leaf that tries an issuer's chain.
constexpr std::string_view kProbeNamespace = "weft-system";
constexpr std::string_view kProbeAccount = "weft-identity-chain-check";

// The certificates of a PEM field, or why not.
Result<std::vector<std::string>> certificates_of(const StoredObject& object, std::string_view key) {
  const auto it = object.data.find(std::string(key));
  if (it == object.data.end() || it->second.empty()) return Error{"no " + std::string(key)};
  auto certificates = split_certificates(it->second);
  if (!certificates) return Error{std::string(key) + ": " + certificates.error().message};
  return certificates;
}

// Empty when a leaf the issuer signs verifies against `anchors_pem`.
std::string chain_problem(const KeyedCertificate& issuer, const std::string& chain_pem,
                          const std::string& anchors_pem, std::string_view trust_domain,
                          Clock::time_point now) {
  auto probe = make_identity(trust_domain, kProbeNamespace, kProbeAccount);
  if (!probe) return probe.error().message;
  auto request = make_certificate_request(*probe);
  if (!request) return request.error().message;
  auto leaf = issue_leaf(issuer, request->csr_pem, *probe, std::chrono::minutes(5), now);
  if (!leaf) return "cannot sign: " + leaf.error().message;
  auto verified = verify_workload_chain(*leaf + chain_pem, anchors_pem, trust_domain, now);
  if (!verified) return verified.error().message;
  return {};
}

}  // namespace

std::string join_certificates(const std::vector<std::string>& certificates) {
  std::string text;
  for (const auto& certificate : certificates) {
    text += certificate;
    if (!text.empty() && text.back() != '\n') text += '\n';
  }
  return text;
}

std::optional<AnchorFacts> assess_anchor(const std::optional<StoredObject>& secret) {
  if (!secret) return std::nullopt;
  AnchorFacts facts;
  facts.managed = secret->managed;
  if (!secret->problem.empty()) {
    facts.problem = secret->problem;
    return facts;
  }
  auto certificates = certificates_of(*secret, kCertKey);
  if (!certificates) {
    facts.problem = certificates.error().message;
    return facts;
  }
  facts.cert_pem = certificates->front();
  auto inspected = inspect_certificate(facts.cert_pem);
  if (!inspected) {
    facts.problem = "tls.crt: " + inspected.error().message;
    return facts;
  }
  if (!inspected->is_ca) {
    facts.problem = "tls.crt is not a CA certificate";
    return facts;
  }
  facts.not_before = inspected->not_before;
  facts.not_after = inspected->not_after;
  facts.key_pem = secret->value(kKeyKey);
  if (!facts.key_pem.empty()) {
    if (auto matches = check_key_matches(facts.cert_pem, facts.key_pem); !matches) {
      facts.problem = "tls.key is not the key of tls.crt: " + matches.error().message;
    }
  }
  return facts;
}

std::optional<BundleFacts> assess_bundle(const std::optional<StoredObject>& config_map) {
  if (!config_map) return std::nullopt;
  BundleFacts facts;
  facts.managed = config_map->managed;
  if (!config_map->problem.empty()) {
    facts.problem = config_map->problem;
    return facts;
  }
  // Larger, the operator would leave the bundle out of every proxy document
  // (plaintext everywhere): refused here, where the reason is told.
  if (const std::string bundle = config_map->value(kBundleKey);
      bundle.size() > kMaxTrustAnchorsBytes) {
    facts.problem = fmt::format("{}: {} bytes, more than the {} a proxy document carries",
                                kBundleKey, bundle.size(), kMaxTrustAnchorsBytes);
    return facts;
  }
  auto certificates = certificates_of(*config_map, kBundleKey);
  if (!certificates) {
    facts.problem = certificates.error().message;
    return facts;
  }
  for (const auto& certificate : *certificates) {
    auto inspected = inspect_certificate(certificate);
    if (!inspected) {
      facts.problem = "ca-bundle.crt: " + inspected.error().message;
      return facts;
    }
    facts.anchor_names.push_back(inspected->subject);
    facts.anchor_not_after.push_back(inspected->not_after);
  }
  facts.anchors = std::move(*certificates);
  return facts;
}

std::optional<IssuerFacts> assess_issuer(const std::optional<StoredObject>& secret,
                                         const std::optional<BundleFacts>& bundle,
                                         std::string_view trust_domain, Clock::time_point now) {
  if (!secret) return std::nullopt;
  IssuerFacts facts;
  facts.managed = secret->managed;
  if (!secret->problem.empty()) {
    facts.problem = secret->problem;
    return facts;
  }
  auto chain = certificates_of(*secret, kCertKey);
  if (!chain) {
    facts.problem = chain.error().message;
    return facts;
  }
  facts.cert_pem = chain->front();
  facts.chain_pem = join_certificates(*chain);
  facts.key_pem = secret->value(kKeyKey);
  if (facts.key_pem.empty()) {
    facts.problem = "no tls.key";
    return facts;
  }
  auto inspected = inspect_certificate(chain->front());
  if (!inspected) {
    facts.problem = "tls.crt: " + inspected.error().message;
    return facts;
  }
  if (!inspected->is_ca) {
    facts.problem = "tls.crt is not a CA certificate (" + inspected->subject + ")";
    return facts;
  }
  if (auto matches = check_key_matches(chain->front(), facts.key_pem); !matches) {
    facts.problem = "tls.key is not the key of tls.crt: " + matches.error().message;
    return facts;
  }
  facts.not_before = inspected->not_before;
  facts.not_after = inspected->not_after;
  if (!secret->value(kCaKey).empty()) {
    auto ca = certificates_of(*secret, kCaKey);
    if (!ca) {
      facts.problem = ca.error().message;
      return facts;
    }
    facts.ca_certs = std::move(*ca);
  }
  // An issuer outside its validity cannot sign a leaf that verifies: the plan
  // reports that by its dates, more clearly than the verifier would.
  if (now < facts.not_before || now >= facts.not_after) return facts;
  const KeyedCertificate issuer{chain->front(), facts.key_pem};
  if (bundle && bundle->problem.empty()) {
    facts.bundle_problem = chain_problem(issuer, facts.chain_pem,
                                         join_certificates(bundle->anchors), trust_domain, now);
  }
  facts.own_ca_problem = facts.ca_certs.empty()
                             ? std::string("no ca.crt")
                             : chain_problem(issuer, facts.chain_pem,
                                             join_certificates(facts.ca_certs), trust_domain, now);
  return facts;
}

}  // namespace weft::identity
