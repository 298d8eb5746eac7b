#pragma once

// The admission layer: the first decision on a parsed request, before any
// routing. Size limits and syntax are the codec's parser's (HTTP/1: 431, 400,
// 505 in proxy/http1/head_parser); here are the checks on the request's
// meaning. Authorization (which client identity may call what) plugs in here,
// as a pure decision over the Request and the peer's identity.

#include <optional>

#include "proxy/request/outcome.h"
#include "proxy/request/request.h"

namespace weft::proxy {

// The reason of the 403 for plaintext that a Strict MeshPolicy refuses.
inline constexpr std::string_view kMtlsRequiredReason =
    "mTLS is required: a Strict MeshPolicy covers this port, and plaintext may only "
    "make the pod's own HTTP probes";

// An answer when the request is refused, nothing to go on: CONNECT (501);
// plaintext under Strict that is not one of the port's probes (403, and the
// connection closed: is_kubelet_probe).
std::optional<LocalAnswer> admit(const Request& request);

// A GET or HEAD without a body or upgrade whose path, and query, equal one of
// `request.probe_routes` exactly: what the kubelet sends. Literal: no prefix,
// no case folding; the path is the normalised one that would be forwarded.
bool is_kubelet_probe(const Request& request);

}  // namespace weft::proxy
