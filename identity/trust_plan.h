#pragma once

// What weft-identity should do with the trust chain it finds in its namespace,
// as a pure function of what the objects hold (already checked: see assess.h)
// and the clock. It takes one step at a time (each a create-if-absent or an
// update guarded by the version read) and is asked again after every step, so
// that replicas racing through the same states end with the same objects, and
// a crash between two steps leaves a state the next start continues from.
//
// Rules:
// - nothing at all: make the anchor, then the issuer, then the bundle;
// - a user's issuer Secret (not labelled as Weft's) is used as it is and never
//   written; so is a user's bundle;
// - anything present that cannot be used (corrupted, a key that is not the
//   certificate's, an issuer that is not a CA, expired, not yet valid, or that
//   chains to no anchor of the bundle) stops issuing with the reason; nothing
//   is overwritten to "repair" it;
// - Weft renews its own issuer, when it holds the anchor's key, once less than
//   `renew_when_left` of the issuer's life remains (it keeps issuing with the
//   old one meanwhile);
// - the bundle is made when absent; an anchor of the issuer's chain missing
//   from it is added only when the bundle is Weft's.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace weft::identity {

using Clock = std::chrono::system_clock;

// Secret weft-identity-trust-anchor.
struct AnchorFacts {
  bool managed = false;
  std::string problem;  // not empty: unusable, says why
  std::string cert_pem;
  std::string key_pem;  // empty: Weft does not hold the anchor's key
  Clock::time_point not_before{};
  Clock::time_point not_after{};
};

// Secret weft-identity-issuer (tls.crt: the issuer first, then any
// intermediates; tls.key; ca.crt: the anchor(s) it chains to).
struct IssuerFacts {
  bool managed = false;
  std::string problem;    // corrupted, key mismatch, not a CA: unusable
  std::string cert_pem;   // the issuer's own certificate
  std::string chain_pem;  // it, then any intermediates
  std::string key_pem;
  std::vector<std::string> ca_certs;  // ca.crt, one PEM certificate each
  Clock::time_point not_before{};
  Clock::time_point not_after{};
  // Empty: a leaf it signs verifies against the bundle as read (or there is
  // no bundle to check against); else the verifier's reason.
  std::string bundle_problem;
  // Empty: a leaf it signs verifies against its own ca.crt.
  std::string own_ca_problem;
};

// ConfigMap weft-identity-trust-anchors.
struct BundleFacts {
  bool managed = false;
  std::string problem;
  std::vector<std::string> anchors;  // one PEM certificate each
  // Per anchor, for the expiry metric: a name (its subject) and its end.
  std::vector<std::string> anchor_names;
  std::vector<Clock::time_point> anchor_not_after;
};

struct TrustFacts {
  std::optional<AnchorFacts> anchor;  // nullopt: absent
  std::optional<IssuerFacts> issuer;
  std::optional<BundleFacts> bundle;
};

struct TrustPolicy {
  // Renew Weft's issuer when less than this fraction of its life is left.
  double renew_when_left = 0.33;
  // The lifetime Weft gives its issuers; the fraction is of the shorter of it
  // and the issuer's validity (which starts a minute early, for clock skew).
  // Zero: the validity alone.
  std::chrono::seconds issuer_lifetime{0};
};

enum class TrustStep {
  kNone,
  kCreateAnchor,  // a new anchor Secret (with its key)
  kCreateIssuer,  // a new issuer Secret, signed by the anchor
  kRenewIssuer,   // replace Weft's issuer Secret with a new one from the anchor
  kCreateBundle,  // the bundle ConfigMap, holding `bundle`
  kUpdateBundle,  // Weft's bundle ConfigMap, now holding `bundle`
};

struct TrustPlan {
  TrustStep step = TrustStep::kNone;
  std::vector<std::string> bundle;  // kCreateBundle, kUpdateBundle: every anchor
  // True: the issuer found can sign now (it may be renewed by `step` meanwhile).
  bool can_issue = false;
  // When it cannot: why, for the log, the readiness answer and the 503 body.
  std::string refusal;
  // A short label for the refusal (metrics): "corrupted", "key_mismatch", ...
  std::string refusal_kind;
  // Worth a warning though not blocking (a renewal that Weft may not make).
  std::string warning;
};

TrustPlan plan_trust(const TrustFacts& facts, const TrustPolicy& policy, Clock::time_point now);

// A refusal the plan's own step ends (no anchor, issuer or bundle yet, being made):
// what every first install goes through, worth an info line, not an error.
bool refusal_resolved_by_step(const TrustPlan& plan);

std::string_view to_string(TrustStep step);

}  // namespace weft::identity
