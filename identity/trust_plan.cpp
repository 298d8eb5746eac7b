#include "identity/trust_plan.h"

#include <algorithm>

#include "identity/objects.h"
#include "weft/log.h"

namespace weft::identity {
namespace {

TrustPlan refuse(std::string kind, std::string reason, TrustStep step = TrustStep::kNone) {
  TrustPlan plan;
  plan.step = step;
  plan.refusal_kind = std::move(kind);
  plan.refusal = std::move(reason);
  return plan;
}

std::string when(Clock::time_point time) {
  return format_log_timestamp(time);
}

const std::string kAnchorName = "Secret " + std::string(kAnchorSecret);
const std::string kIssuerName = "Secret " + std::string(kIssuerSecret);
const std::string kBundleName = "ConfigMap " + std::string(kBundleConfigMap);

// An anchor whose key Weft holds and that is valid now: it can sign issuers.
bool can_sign_issuers(const std::optional<AnchorFacts>& anchor, Clock::time_point now) {
  return anchor && anchor->problem.empty() && !anchor->key_pem.empty() &&
         anchor->not_before <= now && now < anchor->not_after;
}

// The anchors of `wanted` that `bundle` lacks, appended to it.
std::vector<std::string> with_anchors(const std::vector<std::string>& bundle,
                                      const std::vector<std::string>& wanted) {
  std::vector<std::string> result = bundle;
  for (const auto& anchor : wanted) {
    if (std::find(result.begin(), result.end(), anchor) == result.end()) result.push_back(anchor);
  }
  return result;
}

TrustPlan plan_without_issuer(const TrustFacts& facts, Clock::time_point now) {
  if (!facts.anchor) {
    if (facts.bundle && !facts.bundle->managed) {
      return refuse("no_issuer", "no " + kIssuerName + ", and " + kBundleName +
                                     " is not Weft's: provide the issuer Secret (see "
                                     "docs/identity.md), or delete the ConfigMap to let "
                                     "weft-identity make the whole chain");
    }
    return refuse("no_issuer", "no trust anchor yet: making one", TrustStep::kCreateAnchor);
  }
  if (facts.anchor->key_pem.empty()) {
    return refuse("no_issuer", "no " + kIssuerName + ", and " + kAnchorName +
                                   " holds no key to make one: provide the issuer Secret");
  }
  if (!can_sign_issuers(facts.anchor, now)) {
    return refuse("anchor_expired", "no " + kIssuerName +
                                        ", and the trust anchor is not valid now "
                                        "(valid " +
                                        when(facts.anchor->not_before) + " to " +
                                        when(facts.anchor->not_after) + "): rotate the anchor");
  }
  return refuse("no_issuer", "no issuer yet: making one", TrustStep::kCreateIssuer);
}

}  // namespace

bool refusal_resolved_by_step(const TrustPlan& plan) {
  return !plan.can_issue &&
         (plan.step == TrustStep::kCreateAnchor || plan.step == TrustStep::kCreateIssuer ||
          plan.step == TrustStep::kCreateBundle);
}

std::string_view to_string(TrustStep step) {
  switch (step) {
    case TrustStep::kNone:
      return "none";
    case TrustStep::kCreateAnchor:
      return "create_anchor";
    case TrustStep::kCreateIssuer:
      return "create_issuer";
    case TrustStep::kRenewIssuer:
      return "renew_issuer";
    case TrustStep::kCreateBundle:
      return "create_bundle";
    case TrustStep::kUpdateBundle:
      return "update_bundle";
  }
  return "unknown";
}

TrustPlan plan_trust(const TrustFacts& facts, const TrustPolicy& policy, Clock::time_point now) {
  // Anything present but unusable stops everything: it is someone's object,
  // perhaps mid-edit, and guessing would overwrite it.
  if (facts.anchor && !facts.anchor->problem.empty()) {
    return refuse("anchor_unusable", kAnchorName + ": " + facts.anchor->problem);
  }
  if (facts.issuer && !facts.issuer->problem.empty()) {
    return refuse("issuer_unusable", kIssuerName + ": " + facts.issuer->problem);
  }
  if (facts.bundle && !facts.bundle->problem.empty()) {
    return refuse("bundle_unusable", kBundleName + ": " + facts.bundle->problem);
  }
  if (!facts.issuer) return plan_without_issuer(facts, now);

  const IssuerFacts& issuer = *facts.issuer;
  // Weft may replace the issuer only if it made it, holds the anchor's key, and
  // a new one would outlive the old (make_issuer caps it at the anchor's end).
  const bool renewable = issuer.managed && can_sign_issuers(facts.anchor, now) &&
                         facts.anchor->not_after > issuer.not_after;
  std::string why_not_renewable;
  if (!issuer.managed) {
    why_not_renewable = "the issuer Secret is not Weft's: renew it where it is made";
  } else if (!renewable) {
    why_not_renewable =
        "Weft cannot make a longer-lived issuer (no usable anchor key, or the anchor ends first): "
        "rotate the anchor";
  }

  if (now < issuer.not_before) {
    return refuse("issuer_not_yet_valid",
                  kIssuerName + ": not valid before " + when(issuer.not_before));
  }
  if (now >= issuer.not_after) {
    if (renewable) {
      return refuse("issuer_expired",
                    kIssuerName + ": expired at " + when(issuer.not_after) + "; making a new one",
                    TrustStep::kRenewIssuer);
    }
    return refuse("issuer_expired", kIssuerName + ": expired at " + when(issuer.not_after) + "; " +
                                        why_not_renewable);
  }

  if (!facts.bundle) {
    if (!issuer.own_ca_problem.empty() || issuer.ca_certs.empty()) {
      return refuse("issuer_untrusted",
                    "no " + kBundleName + " and the issuer's ca.crt cannot make one (" +
                        (issuer.ca_certs.empty() ? std::string("absent") : issuer.own_ca_problem) +
                        "): provide the ConfigMap or ca.crt");
    }
    TrustPlan plan =
        refuse("no_bundle", "no trust anchors bundle yet: making it", TrustStep::kCreateBundle);
    plan.bundle = issuer.ca_certs;
    return plan;
  }

  if (!issuer.bundle_problem.empty()) {
    // Weft's own bundle lacks the anchor the issuer chains to: add it (proxies
    // must trust it before they get leaves from this issuer).
    if (facts.bundle->managed && issuer.own_ca_problem.empty() && !issuer.ca_certs.empty()) {
      TrustPlan plan = refuse("issuer_untrusted",
                              "the issuer's anchor is not in " + kBundleName + " yet: adding it",
                              TrustStep::kUpdateBundle);
      plan.bundle = with_anchors(facts.bundle->anchors, issuer.ca_certs);
      return plan;
    }
    return refuse("issuer_untrusted",
                  kIssuerName + " does not chain to any anchor in " + kBundleName + " (" +
                      issuer.bundle_problem + ")" +
                      (facts.bundle->managed ? std::string()
                                             : ": the ConfigMap is the user's; add the "
                                               "issuer's anchor to it"));
  }

  TrustPlan plan;
  plan.can_issue = true;
  auto life = issuer.not_after - issuer.not_before;
  if (policy.issuer_lifetime > std::chrono::seconds(0) && policy.issuer_lifetime < life) {
    life = policy.issuer_lifetime;
  }
  const auto left = issuer.not_after - now;
  if (std::chrono::duration<double>(left).count() <
      policy.renew_when_left * std::chrono::duration<double>(life).count()) {
    if (renewable) {
      plan.step = TrustStep::kRenewIssuer;
    } else {
      plan.warning = "the issuer expires at " + when(issuer.not_after) + "; " + why_not_renewable;
    }
  }
  return plan;
}

}  // namespace weft::identity
