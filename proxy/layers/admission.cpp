#include "proxy/layers/admission.h"

namespace weft::proxy {

bool is_kubelet_probe(const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") return false;
  if (request.body.kind != BodySource::Kind::kNone || request.upgrade) return false;
  for (const ProbeRoute& route : request.probe_routes) {
    const std::string_view target = route.target;
    const auto query_start = target.find('?');
    const std::string_view path = target.substr(0, query_start);
    // No '?' in the probe: the request must carry no query either.
    const std::string_view query =
        query_start == std::string_view::npos ? std::string_view() : target.substr(query_start + 1);
    if (request.path == path && request.query == query) return true;
  }
  return false;
}

std::optional<LocalAnswer> admit(const Request& request) {
  if (request.method == "CONNECT") return LocalAnswer{501, "CONNECT is not supported"};
  if (request.mtls_required && !is_kubelet_probe(request)) {
    return LocalAnswer{403, kMtlsRequiredReason, true};
  }
  return std::nullopt;
}

}  // namespace weft::proxy
