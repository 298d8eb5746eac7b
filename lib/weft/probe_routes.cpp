#include "weft/probe_routes.h"

#include <algorithm>

namespace weft {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Characters a request target carries unencoded (Go's net/url keeps these as
// written, and so does every HTTP client worth probing with).
bool is_literal(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  // Unreserved marks, sub-delimiters, and the path's own ':', '@', '/', '[', ']'.
  static constexpr std::string_view kMarks = "-._~!$&'()*+,;=:@/[]";
  return kMarks.find(c) != std::string_view::npos;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

ProbeRoute::ProbeRoute(std::uint16_t port, std::string target)
    : port(port), target(std::move(target)), path_size_(this->target.find('?')) {
  if (path_size_ == std::string::npos) path_size_ = this->target.size();
}

std::optional<std::string> probe_target_problem(std::string_view target) {
  if (target.empty() || target.front() != '/') return "the path must start with '/'";
  if (target.size() > kMaxProbeTargetBytes) {
    return "longer than " + std::to_string(kMaxProbeTargetBytes) + " bytes";
  }
  bool in_query = false;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '?' && !in_query) {
      in_query = true;
      continue;
    }
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2])) {
        return "'%' not followed by two hex digits";
      }
      const std::string_view escape = target.substr(i + 1, 2);
      if (!in_query && (escape == "2F" || escape == "2f" || escape == "5C" || escape == "5c")) {
        return "an encoded '/' or '\\' in the path (weft-proxy refuses such requests)";
      }
      i += 2;
      continue;
    }
    if (is_literal(c) || (in_query && c == '?')) continue;
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e) {
      return "byte " + std::to_string(byte) + " is not a visible ASCII character";
    }
    return "'" + std::string(1, c) + "' would be percent-encoded by the kubelet";
  }
  return std::nullopt;
}

std::vector<ProbeRoute> canonical_probe_routes(std::vector<ProbeRoute> routes) {
  std::sort(routes.begin(), routes.end());
  routes.erase(std::unique(routes.begin(), routes.end()), routes.end());
  return routes;
}

std::string format_probe_routes(std::span<const ProbeRoute> routes) {
  std::string text;
  for (const ProbeRoute& route : routes) {
    if (!text.empty()) text += ' ';
    text += std::to_string(route.port);
    text += route.target;
  }
  return text;
}

Result<std::vector<ProbeRoute>> parse_probe_routes(std::string_view text) {
  std::vector<ProbeRoute> routes;
  if (text.empty()) return routes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    const std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) return Error{"an empty item (items are separated by one space)"};
    if (routes.size() == kMaxProbeRoutes) {
      return Error{"more than " + std::to_string(kMaxProbeRoutes) + " probe routes"};
    }
    const std::size_t slash = item.find('/');
    const std::string_view digits = item.substr(0, slash);
    unsigned long port = 0;
    bool number = !digits.empty() && digits.size() <= 5;
    for (const char c : digits) {
      if (c < '0' || c > '9') number = false;
      if (number) port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!number || port < 1 || port > 65535) {
      return Error{quoted(item) + " is not PORT/PATH with a port from 1 to 65535"};
    }
    if (slash == std::string_view::npos) {
      return Error{quoted(item) + " is not PORT/PATH: no path"};
    }
    const std::string_view target = item.substr(slash);
    if (auto problem = probe_target_problem(target)) {
      return Error{quoted(item) + ": " + *problem};
    }
    routes.push_back({static_cast<std::uint16_t>(port), std::string(target)});
  }
  const std::size_t given = routes.size();
  routes = canonical_probe_routes(std::move(routes));
  if (routes.size() != given) return Error{"an item is listed twice"};
  return routes;
}

std::span<const ProbeRoute> probe_routes_of_port(std::span<const ProbeRoute> routes,
                                                 std::uint16_t port) {
  const auto first = std::partition_point(routes.begin(), routes.end(),
                                          [port](const ProbeRoute& r) { return r.port < port; });
  const auto last = std::partition_point(first, routes.end(),
                                         [port](const ProbeRoute& r) { return r.port <= port; });
  return {first, last};
}

}  // namespace weft
