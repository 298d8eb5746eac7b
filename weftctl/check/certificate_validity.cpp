#include "weftctl/check/certificate_validity.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace weft::ctl::check {

std::string format_remaining(std::chrono::seconds remaining) {
  using std::chrono::hours;
  const auto days = remaining / hours(24);
  if (days >= 2) return fmt::format("{} days", days);
  const auto in_hours = remaining / hours(1);
  if (in_hours >= 2) return fmt::format("{} hours", in_hours);
  return fmt::format("{} minutes", remaining / std::chrono::minutes(1));
}

std::string format_time(TimePoint time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(time)));
}

TimePoint inside_window(const identity::CertificateFacts& certificate, TimePoint now) {
  if (now >= certificate.not_before && now < certificate.not_after) return now;
  return certificate.not_before + (certificate.not_after - certificate.not_before) / 2;
}

CheckResult judge_validity(const std::string& category, const std::string& name,
                           const identity::CertificateFacts& certificate, TimePoint now,
                           std::chrono::seconds warn_before, const std::string& hint) {
  const std::string subject = certificate.subject.empty() ? "" : " (" + certificate.subject + ")";
  if (now < certificate.not_before) {
    return fail(category, name,
                "not valid before " + format_time(certificate.not_before) + subject +
                    ": the clock of the machine that made it, or of this one, is wrong",
                hint);
  }
  if (now >= certificate.not_after) {
    return fail(category, name, "expired at " + format_time(certificate.not_after) + subject, hint);
  }
  const auto remaining =
      std::chrono::duration_cast<std::chrono::seconds>(certificate.not_after - now);
  const std::string left =
      "expires in " + format_remaining(remaining) + ", at " + format_time(certificate.not_after);
  if (remaining < warn_before) {
    return warn(category, name, left + ", less than " + format_remaining(warn_before) + subject,
                hint);
  }
  return ok(category, name, left);
}

}  // namespace weft::ctl::check
