#include "proxy/layers/admission.h"

namespace weft::proxy {

bool is_kubelet_probe(const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") return false;
  if (request.body.kind != BodySource::Kind::kNone || request.upgrade) return false;
  for (const ProbeRoute& route : request.probe_routes) {
    if (request.path == route.path() && request.query == route.query()) return true;
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
