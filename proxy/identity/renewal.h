#pragma once

// When the identity client asks for a certificate: pure, with the time and
// the outcome of the last request as arguments, so the rules are tested with
// lifetimes of seconds and no clock.
//
//   no certificate                          request now
//   the document's anchors or trust domain  the held chain still verifies
//   changed                                   against them: take the new
//                                             anchors at once (a rotation's
//                                             old+new bundle), same leaf;
//                                           else request now
//   otherwise                               request at valid_from + fraction
//                                             of the leaf's life (0.7)
//
// After a failed request the next one waits for the backoff (weft/backoff.h)
// of the failures since the last success, whatever the reason to ask.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/identity/credentials.h"
#include "weft/backoff.h"
#include "weft/identity/x509.h"
#include "weft/result.h"

namespace weft::proxy {

struct RenewalPolicy {
  double renew_fraction = 0.7;  // of the leaf's life (--identity-renew-fraction)
  BackoffPolicy backoff;        // between failed requests
};

// Failed requests since the last success.
struct RenewalFailures {
  int count = 0;
  identity::TimePoint last{};  // when the last one failed
  double jitter_draw = 0;      // in [0, 1), drawn at that failure
};

struct RenewalInput {
  const Credentials* current = nullptr;  // null: none held yet
  // Where current's life is counted from: its notBefore, or when it arrived
  // if later (issuers backdate notBefore for clock skew; counted from there,
  // a leaf of seconds would be due for renewal on arrival).
  identity::TimePoint leaf_valid_from{};
  std::string_view trust_domain;  // the document's
  std::string_view anchors_pem;   // the document's
  identity::TimePoint now{};
  RenewalFailures failures;
};

struct RenewalDecision {
  enum class Action { kRequest, kWait, kUpdateAnchors };
  Action action = Action::kWait;
  identity::TimePoint at{};  // kWait: when to decide again (a document change wakes earlier)
  std::string reason;        // for the log
};

// verify_workload_chain's signature: the real one in production, a fake in
// unit tests of the rules.
using ChainVerifier = std::function<Result<identity::WorkloadIdentity>(
    std::string_view chain_pem, std::string_view anchors_pem, std::string_view trust_domain,
    identity::TimePoint now)>;

RenewalDecision decide_renewal(const RenewalInput& input, const RenewalPolicy& policy,
                               const ChainVerifier& verify);

// When a leaf valid over [not_before, not_after] is due for renewal.
identity::TimePoint renewal_time(identity::TimePoint not_before, identity::TimePoint not_after,
                                 double fraction);

}  // namespace weft::proxy
