#include "weft/identity/spiffe_id.h"

#include <fmt/format.h>

#include <array>

#include "weft/dns_name.h"

namespace weft::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr std::string_view kUsernamePrefix = "system:serviceaccount:";
// The SPIFFE standard's bound on an ID's length.
constexpr std::size_t kMaxUriBytes = 2048;
// Hostile input is quoted (escaped) and cut in messages, so a log line stays one line.
constexpr std::size_t kMaxQuotedBytes = 120;

std::string quoted(std::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return fmt::format("{:?}", text);
  return fmt::format("{:?}...", text.substr(0, kMaxQuotedBytes));
}

Error bad_id(std::string_view uri, std::string_view why) {
  return Error{fmt::format("SPIFFE ID {}: {}", quoted(uri), why)};
}

// What a URI may carry that a Weft SPIFFE ID never does, named for the user.
const char* forbidden_character(unsigned char c) {
  if (c < 0x21 || c == 0x7f) return "contains a space or a control character";
  if (c >= 0x80) return "contains a non-ASCII byte";
  switch (c) {
    case '%':
      return "is percent-encoded (not allowed)";
    case '?':
      return "has a query (not allowed)";
    case '#':
      return "has a fragment (not allowed)";
    case '@':
      return "has userinfo (not allowed)";
    case ':':
      return "has a port (not allowed)";
    case '\\':
      return "contains a backslash";
    default:
      return nullptr;
  }
}

}  // namespace

std::string WorkloadIdentity::uri() const {
  return fmt::format("spiffe://{}/ns/{}/sa/{}", trust_domain, ns, service_account);
}

std::string WorkloadIdentity::dns_name() const {
  return fmt::format("{}.{}.serviceaccount.identity.weft.{}", service_account, ns, trust_domain);
}

Result<void> check_trust_domain(std::string_view trust_domain) {
  if (trust_domain.empty()) return Error{"trust domain is empty"};
  if (trust_domain.size() > 255) {
    return Error{
        fmt::format("trust domain {} is longer than 255 characters", quoted(trust_domain))};
  }
  for (char c : trust_domain) {
    if (c >= 'A' && c <= 'Z') {
      return Error{fmt::format("trust domain {} must be lowercase", quoted(trust_domain))};
    }
  }
  // Each label a DNS-1123 label: letters, digits, '-' (not at either end), none empty.
  for (std::string_view rest = trust_domain;;) {
    const auto dot = rest.find('.');
    if (!is_dns_label(rest.substr(0, dot))) {
      return Error{fmt::format(
          "trust domain {} is not a DNS name (lowercase letters, digits, '-' and '.', no empty "
          "label)",
          quoted(trust_domain))};
    }
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return {};
}

Result<WorkloadIdentity> make_identity(std::string_view trust_domain, std::string_view ns,
                                       std::string_view service_account) {
  if (auto checked = check_trust_domain(trust_domain); !checked) return checked.error();
  if (!is_dns_label(ns)) {
    return Error{fmt::format("namespace {} is not a DNS-1123 label", quoted(ns))};
  }
  if (!is_dns_subdomain(service_account)) {
    return Error{
        fmt::format("service account {} is not a DNS-1123 subdomain", quoted(service_account))};
  }
  return WorkloadIdentity{std::string(trust_domain), std::string(ns), std::string(service_account)};
}

Result<WorkloadIdentity> parse_spiffe_id(std::string_view uri) {
  if (uri.empty()) return Error{"SPIFFE ID is empty"};
  if (uri.size() > kMaxUriBytes) {
    return bad_id(uri, fmt::format("longer than {} bytes", kMaxUriBytes));
  }
  if (!uri.starts_with(kScheme)) {
    return bad_id(uri, "does not start with \"spiffe://\" (lowercase)");
  }
  std::string_view rest = uri.substr(kScheme.size());
  for (unsigned char c : rest) {
    if (const char* why = forbidden_character(c)) return bad_id(uri, why);
  }
  const auto slash = rest.find('/');
  const std::string_view trust_domain = rest.substr(0, slash);
  if (auto checked = check_trust_domain(trust_domain); !checked) {
    return bad_id(uri, checked.error().message);
  }
  if (slash == std::string_view::npos)
    return bad_id(uri, "has no path (expected /ns/<ns>/sa/<sa>)");

  // Exactly four non-empty segments: ns, <namespace>, sa, <account>.
  std::array<std::string_view, 4> segments;
  std::string_view path = rest.substr(slash + 1);
  for (std::size_t i = 0;; ++i) {
    const auto next = path.find('/');
    const std::string_view segment = path.substr(0, next);
    if (segment.empty()) {
      return bad_id(uri, "has an empty path segment (a '//' or a trailing '/')");
    }
    if (segment == "." || segment == "..") return bad_id(uri, "has a '.' or '..' path segment");
    if (i >= segments.size()) return bad_id(uri, "has path segments after /sa/<account>");
    segments[i] = segment;
    if (next == std::string_view::npos) {
      if (i + 1 < segments.size()) return bad_id(uri, "path is not /ns/<namespace>/sa/<account>");
      break;
    }
    path.remove_prefix(next + 1);
  }
  if (segments[0] != "ns" || segments[2] != "sa") {
    return bad_id(uri, "path is not /ns/<namespace>/sa/<account>");
  }
  auto identity = make_identity(trust_domain, segments[1], segments[3]);
  if (!identity) return bad_id(uri, identity.error().message);
  return identity;
}

Result<WorkloadIdentity> identity_from_username(std::string_view trust_domain,
                                                std::string_view username) {
  if (!username.starts_with(kUsernamePrefix)) {
    return Error{fmt::format("user {} is not a service account (system:serviceaccount:<ns>:<sa>)",
                             quoted(username))};
  }
  const std::string_view rest = username.substr(kUsernamePrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return Error{fmt::format("user {} has no service account name", quoted(username))};
  }
  return make_identity(trust_domain, rest.substr(0, colon), rest.substr(colon + 1));
}

}  // namespace weft::identity
