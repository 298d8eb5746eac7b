#pragma once

// A certificate's validity window judged at a time, shared by the webhook's
// and the identity checks.

#include <chrono>
#include <string>

#include "weft/identity/x509.h"
#include "weftctl/check/check_result.h"
#include "weftctl/check/facts.h"

namespace weft::ctl::check {

// "45 days", "5 hours", "12 minutes".
std::string format_remaining(std::chrono::seconds remaining);
// "2027-01-31T12:00:00Z"
std::string format_time(TimePoint time);

// A time inside the certificate's validity window (`now` when it is valid):
// where its signature is checked, so that an expired certificate is reported
// once, by judge_validity, and not also as unverifiable.
TimePoint inside_window(const identity::CertificateFacts& certificate, TimePoint now);

// Fails when `certificate` is expired or not yet valid at `now`, warns when
// less than `warn_before` remains, else ok with the time left. The hint is
// what renews it.
CheckResult judge_validity(const std::string& category, const std::string& name,
                           const identity::CertificateFacts& certificate, TimePoint now,
                           std::chrono::seconds warn_before, const std::string& hint);

}  // namespace weft::ctl::check
