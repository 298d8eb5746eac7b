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

// An answer when the request is refused (CONNECT: 501), nothing to go on.
std::optional<LocalAnswer> admit(const Request& request);

}  // namespace weft::proxy
