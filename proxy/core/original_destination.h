#pragma once

// Where a redirected connection was going: iptables' REDIRECT rewrites the
// destination to the proxy's port and conntrack remembers the original one,
// which SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6) returns.

#include <optional>

#include "proxy/core/asio.h"

namespace weft::proxy {

// nullopt when the connection was not redirected: no conntrack entry, or the
// "original" destination is the proxy's own listening address (the connection
// came to the proxy port directly).
std::optional<tcp::endpoint> original_destination(Socket& socket);

}  // namespace weft::proxy
