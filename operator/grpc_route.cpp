#include "operator/grpc_route.h"

#include <fmt/format.h>

#include <array>

#include "weft/proxyconfig/route_regex.h"

namespace weft::op {
namespace {

namespace pc = weft::proxyconfig;

// Indexed by the status's wire value; 0 (OK) is never retried.
constexpr std::array<std::string_view, pc::kMaxRetryGrpcCode + 1> kCodeNames = {
    "",         "Cancelled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",   "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",      "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated",
};

bool is_identifier_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || (c >= '0' && c <= '9');
}

// A protobuf identifier: a letter or '_', then letters, digits, '_'.
bool is_identifier(std::string_view text) {
  if (text.empty() || !is_identifier_start(text.front())) return false;
  for (char c : text) {
    if (!is_identifier_char(c)) return false;
  }
  return true;
}

// A protobuf full name: identifiers joined by '.' (`shop.v1.Cart`).
bool is_full_name(std::string_view text) {
  while (true) {
    const auto dot = text.find('.');
    if (!is_identifier(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

GrpcMatchError problem(std::string field, std::string message) {
  GrpcMatchError error;
  error.field = std::move(field);
  error.message = std::move(message);
  return error;
}

// A pattern already matches the whole name, as written alone: a leading '^'
// and a trailing unescaped '$' are dropped, since inside the path's pattern
// they would anchor to the path's ends and never match.
std::string_view without_anchors(std::string_view pattern) {
  if (pattern.starts_with('^')) pattern.remove_prefix(1);
  if (pattern.ends_with('$')) {
    std::size_t backslashes = 0;
    while (backslashes + 1 < pattern.size() && pattern[pattern.size() - 2 - backslashes] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 0) pattern.remove_suffix(1);
  }
  return pattern;
}

// One segment's pattern, or any segment when left out.
std::string segment_pattern(const std::string& pattern) {
  return pattern.empty() ? "[^/]+" : fmt::format("(?:{})", without_anchors(pattern));
}

}  // namespace

Result<pc::PathMatch, GrpcMatchError> grpc_method_path(const GrpcMethodMatch& match) {
  if (match.service.empty() && match.method.empty()) {
    return problem("", "sets neither service nor method: at least one is needed");
  }
  if (match.type == pc::ValueMatchType::kExact) {
    if (!match.service.empty() && !is_full_name(match.service)) {
      return problem("service", fmt::format("{:?} is not a protobuf service name (like "
                                            "shop.v1.Cart)",
                                            match.service));
    }
    if (!match.method.empty() && !is_identifier(match.method)) {
      return problem(
          "method", fmt::format("{:?} is not a protobuf method name (like AddItem)", match.method));
    }
    if (match.method.empty()) {
      return pc::PathMatch{pc::PathMatchType::kPathPrefix, fmt::format("/{}/", match.service)};
    }
    if (match.service.empty()) {
      // The method is an identifier: nothing in it to escape.
      return pc::PathMatch{pc::PathMatchType::kRegularExpression,
                           fmt::format("/[^/]+/{}", match.method)};
    }
    return pc::PathMatch{pc::PathMatchType::kExact,
                         fmt::format("/{}/{}", match.service, match.method)};
  }
  for (const auto& [field, pattern] :
       {std::pair<std::string, const std::string&>{"service", match.service},
        std::pair<std::string, const std::string&>{"method", match.method}}) {
    if (pattern.empty()) continue;
    if (auto compiled = pc::RouteRegex::compile(pattern); !compiled) {
      return problem(field, compiled.error().message);
    }
  }
  pc::PathMatch path{
      pc::PathMatchType::kRegularExpression,
      fmt::format("/{}/{}", segment_pattern(match.service), segment_pattern(match.method))};
  // Each part compiles alone, and a group cannot be closed from inside
  // another: the whole compiles too. Checked all the same, as the proxy will.
  if (auto compiled = pc::RouteRegex::compile(path.value); !compiled) {
    return problem("", compiled.error().message);
  }
  return path;
}

std::optional<std::uint8_t> grpc_code(std::string_view name) {
  for (std::size_t code = pc::kMinRetryGrpcCode; code < kCodeNames.size(); ++code) {
    if (kCodeNames[code] == name) return static_cast<std::uint8_t>(code);
  }
  return std::nullopt;
}

std::string_view grpc_code_name(std::uint8_t code) {
  return code < kCodeNames.size() ? kCodeNames[code] : std::string_view{};
}

}  // namespace weft::op
