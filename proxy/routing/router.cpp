#include "proxy/routing/router.h"

#include "proxy/http1/message.h"
#include "proxy/request/grpc.h"

namespace weft::proxy {
namespace {

// RE2 matches in time linear in the text (no backtracking, no recursion), so
// any value the head parser accepted can be matched on the event loop.
bool value_matches(const proxyconfig::ValueMatch& match,
                   const std::optional<proxyconfig::RouteRegex>& regex, std::string_view value) {
  return regex ? regex->full_match(value) : value == match.value;
}

// Whether the request is a gRPC call, worked out at most once per request
// (only when a gRPC match is tried).
class GrpcCall {
 public:
  explicit GrpcCall(const Request& request) : request_(request) {}
  bool operator()() {
    if (!known_) {
      value_ = is_grpc_call(request_);
      known_ = true;
    }
    return value_;
  }

 private:
  const Request& request_;
  bool known_ = false;  // two bools: GCC 12 misreads an optional<bool> as uninitialised
  bool value_ = false;
};

bool matches(const CompiledMatch& compiled, const Request& request, GrpcCall& grpc_call) {
  const proxyconfig::RouteMatch& match = *compiled.match;
  if (match.grpc && !grpc_call()) return false;
  if (match.method && request.method != *match.method) return false;
  const std::string_view path = request.path;
  switch (match.path.type) {
    case proxyconfig::PathMatchType::kExact:
      if (path != match.path.value) return false;
      break;
    case proxyconfig::PathMatchType::kPathPrefix:
      if (!path_prefix_matches(match.path.value, path)) return false;
      break;
    case proxyconfig::PathMatchType::kRegularExpression:
      if (!compiled.path || !compiled.path->full_match(path)) return false;
      break;
  }
  for (std::size_t i = 0; i < match.headers.size(); ++i) {
    bool found = false;
    for (const Header& header : request.headers) {
      if (http1::equals_ignore_case(header.name, match.headers[i].name)) {
        found = value_matches(match.headers[i], compiled.headers[i], header.value);
        break;  // the first header of that name decides
      }
    }
    if (!found) return false;
  }
  for (std::size_t i = 0; i < match.query_params.size(); ++i) {
    const auto value = query_param(request.query, match.query_params[i].name);
    if (!value || !value_matches(match.query_params[i], compiled.query_params[i], *value)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_grpc_call(const Request& request) {
  const std::string_view path = request.path;
  // "/<service>/<method>": exactly two slashes, neither segment empty.
  const auto second_slash = path.find('/', 1);
  if (!path.starts_with('/') || second_slash == std::string_view::npos || second_slash == 1 ||
      second_slash + 1 == path.size() || path.find('/', second_slash + 1) != path.npos) {
    return false;
  }
  for (const Header& header : request.headers) {
    if (http1::equals_ignore_case(header.name, "content-type")) {
      return grpc::is_grpc_content_type(header.value);  // the first one decides
    }
  }
  return false;
}

bool path_prefix_matches(std::string_view prefix, std::string_view path) {
  if (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/") return path.starts_with('/');
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

RouteSelection select_route(const ServiceTarget& target, const Request& request) {
  if (target.port->rules.empty()) return {};
  GrpcCall grpc_call(request);
  for (const CompiledMatch& compiled : target.matches) {
    if (matches(compiled, request, grpc_call)) {
      return {&target.port->rules[compiled.match->rule], false};
    }
  }
  return {nullptr, true};
}

const proxyconfig::Backend* pick_backend(const proxyconfig::Rule& rule, std::uint64_t random) {
  std::uint64_t total = 0;
  for (const auto& backend : rule.backends) total += backend.weight;
  if (total == 0) return nullptr;
  std::uint64_t point = random % total;
  for (const auto& backend : rule.backends) {
    if (point < backend.weight) return &backend;
    point -= backend.weight;
  }
  return nullptr;
}

}  // namespace weft::proxy
