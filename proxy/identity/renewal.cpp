#include "proxy/identity/renewal.h"

#include <algorithm>

namespace weft::proxy {

identity::TimePoint renewal_time(identity::TimePoint not_before, identity::TimePoint not_after,
                                 double fraction) {
  const auto life = not_after - not_before;
  const double clamped = std::clamp(fraction, 0.0, 1.0);
  return not_before + std::chrono::duration_cast<identity::TimePoint::duration>(life * clamped);
}

RenewalDecision decide_renewal(const RenewalInput& input, const RenewalPolicy& policy,
                               const ChainVerifier& verify) {
  using Action = RenewalDecision::Action;
  identity::TimePoint due = input.now;
  std::string reason;
  const Credentials* current = input.current;
  if (current == nullptr) {
    reason = "no certificate yet";
  } else if (current->anchors_pem != input.anchors_pem ||
             current->self.trust_domain != input.trust_domain) {
    const auto verified =
        verify(current->chain_pem, input.anchors_pem, input.trust_domain, input.now);
    if (verified.has_value() && verified.value() == current->self) {
      return {Action::kUpdateAnchors, input.now,
              "trust anchors changed; the certificate still verifies against them"};
    }
    reason =
        "trust anchors changed and no longer trust the certificate: " +
        (verified.has_value() ? "it names " + verified.value().uri() : verified.error().message);
  } else {
    due = renewal_time(input.leaf_valid_from, current->not_after, policy.renew_fraction);
    reason = input.now >= current->not_after ? "certificate expired" : "renewal due";
  }
  if (input.failures.count > 0) {
    const auto retry_at =
        input.failures.last +
        backoff_delay(policy.backoff, input.failures.count - 1, input.failures.jitter_draw);
    if (retry_at > due) {
      due = retry_at;
      reason += " (retrying after a failure)";
    }
  }
  if (input.now >= due) return {Action::kRequest, input.now, std::move(reason)};
  return {Action::kWait, due, std::move(reason)};
}

}  // namespace weft::proxy
