// weft-identity: the trust anchors proxies trust (ConfigMap
// weft-identity-trust-anchors) and the issuer that signs their certificates
// (Secret weft-identity-issuer) valid long enough, the issuer signed by an anchor.

#include <algorithm>
#include <string>

#include "identity/objects.h"
#include "identity/options.h"
#include "weft/identity/x509.h"
#include "weftctl/check/certificate_validity.h"
#include "weftctl/check/checks.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "weft-identity";
constexpr std::string_view kLogsHint = "kubectl -n weft-system logs deployment/weft-identity";
constexpr std::string_view kRotateHint =
    "rotate it before it expires: docs/identity.md, \"Rotating the trust anchor\"";

bool managed_by_weft(const nlohmann::json& object) {
  return text_at(object, "/metadata/labels/app.kubernetes.io~1managed-by") ==
         identity::kManagedByValue;
}

}  // namespace

CheckResults check_identity(const Facts& facts, const Thresholds& thresholds) {
  const std::string category(kCategory);
  const auto min_validity = thresholds.min_certificate_validity;
  CheckResults results;

  // The anchors.
  const std::string anchors_present =
      "the trust anchors are published (ConfigMap " + std::string(identity::kBundleConfigMap) + ")";
  const Answer& bundle = facts.trust_anchors;
  std::string anchors_pem;
  if (!bundle.found()) {
    results.push_back(fail(category, anchors_present,
                           bundle.not_found() ? "not found" : bundle.describe(),
                           "weft-identity makes it on its first start: " + std::string(kLogsHint)));
  } else {
    anchors_pem = text_at(bundle.body, "/data/" + std::string(identity::kBundleKey));
    auto anchors = identity::split_certificates(anchors_pem);
    if (!anchors) {
      results.push_back(fail(category, anchors_present,
                             std::string(identity::kBundleKey) + ": " + anchors.error().message,
                             std::string(kLogsHint)));
      anchors_pem.clear();
    } else {
      results.push_back(
          ok(category, anchors_present, std::to_string(anchors->size()) + " anchor(s)"));
      for (const auto& anchor_pem : *anchors) {
        auto anchor = identity::inspect_certificate(anchor_pem);
        const std::string name = "trust anchor " + (anchor ? anchor->subject : "?") +
                                 " is valid for at least " + format_remaining(min_validity);
        if (!anchor) {
          results.push_back(fail(category, name, anchor.error().message, std::string(kLogsHint)));
          continue;
        }
        results.push_back(judge_validity(category, name, *anchor, facts.now, min_validity,
                                         std::string(kRotateHint)));
      }
    }
  }

  // The issuer.
  const std::string issuer_readable =
      "the issuer is readable (Secret " + std::string(identity::kIssuerSecret) + ")";
  const Answer& secret = facts.issuer_secret;
  if (!secret.found()) {
    if (secret.status == 403) {
      results.push_back(warn(category, issuer_readable, secret.describe(),
                             "checking the issuer needs get on Secrets in weft-system"));
    } else {
      results.push_back(fail(category, issuer_readable,
                             secret.not_found() ? "not found" : secret.describe(),
                             "weft-identity makes it on its first start (or give it yours: "
                             "docs/identity.md): " +
                                 std::string(kLogsHint)));
    }
    return results;
  }
  const std::string issuer_pem = secret_value(secret.body, identity::kCertKey);
  const auto issuer = identity::inspect_certificate(issuer_pem);
  if (!issuer) {
    results.push_back(fail(category, issuer_readable, "tls.crt: " + issuer.error().message,
                           std::string(kLogsHint)));
    return results;
  }
  results.push_back(ok(category, issuer_readable, issuer->subject));

  // An issuer weft-identity renews itself (short-lived: 30 days by default)
  // is overdue only once less than the part of its life at which it is
  // renewed remains; one brought by the user gets the plain threshold.
  const bool managed = managed_by_weft(secret.body);
  auto warn_before = min_validity;
  std::string renew_hint = "replace the Secret " + std::string(identity::kIssuerSecret) +
                           " with a renewed issuer (docs/identity.md, \"Bringing your own "
                           "issuer\")";
  if (managed) {
    const auto lifetime =
        std::chrono::duration_cast<std::chrono::seconds>(issuer->not_after - issuer->not_before);
    const auto renewal = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(
        static_cast<double>(lifetime.count()) * identity::Options{}.issuer_renew_before));
    warn_before = std::min(min_validity, renewal);
    renew_hint = "weft-identity renews it with " +
                 std::to_string(static_cast<int>(identity::Options{}.issuer_renew_before * 100)) +
                 "% of its life left, while it holds the anchor's key: " + std::string(kLogsHint);
  }
  results.push_back(
      judge_validity(category, "the issuer is valid for at least " + format_remaining(warn_before),
                     *issuer, facts.now, warn_before, renew_hint));

  const std::string signed_by = "the issuer is signed by a trust anchor";
  if (anchors_pem.empty()) {
    results.push_back(warn(category, signed_by, "no trust anchors to check it against", ""));
  } else if (auto verified =
                 identity::verify_chain(issuer_pem, anchors_pem, inside_window(*issuer, facts.now));
             !verified) {
    results.push_back(fail(
        category, signed_by,
        verified.error().message + ": proxies would refuse every certificate it signs",
        "the issuer's chain must end at an anchor of " + std::string(identity::kBundleConfigMap) +
            " (docs/identity.md, \"Bringing your own issuer\")"));
  } else {
    results.push_back(ok(category, signed_by));
  }
  return results;
}

}  // namespace weft::ctl::check
