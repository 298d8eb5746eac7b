#pragma once

// Where a redirected connection was going: iptables' REDIRECT rewrites the
// destination to the proxy's port and conntrack remembers the original one,
// which SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6) returns.
//
// Inbound, that destination is whatever the packet carried: inbound capture
// redirects every TCP packet that reaches the pod, whatever its destination
// address, and the proxy's own connections are exempt from outbound capture.
// A neighbour that crafts a packet for another address and sends it to this
// pod would have the proxy relay it; so inbound traffic is delivered only to
// the pod's own addresses (delivers_to_own_pod).

#include <optional>
#include <vector>

#include "proxy/core/asio.h"
#include "weft/result.h"

namespace weft::proxy {

// nullopt when the connection was not redirected: no conntrack entry, or the
// "original" destination is the proxy's own listening address (the connection
// came to the proxy port directly).
std::optional<tcp::endpoint> original_destination(Socket& socket);

// The addresses inbound traffic may be delivered to. IPv4-mapped IPv6
// addresses count as their IPv4 address.
class OwnAddresses {
 public:
  explicit OwnAddresses(std::vector<asio::ip::address> addresses);
  bool contains(const asio::ip::address& address) const;
  const std::vector<asio::ip::address>& addresses() const { return addresses_; }

 private:
  std::vector<asio::ip::address> addresses_;  // normalised, sorted
};

// Whether an inbound connection to `destination` stays in the pod.
bool delivers_to_own_pod(const tcp::endpoint& destination, const OwnAddresses& own);

// The addresses of this network namespace's interfaces (in a pod: its pod
// IPs of both families, and loopback), read once at start-up.
Result<std::vector<asio::ip::address>> interface_addresses();

// The own addresses the settings give (IP literals, already validated), or
// when there are none the interfaces'.
Result<OwnAddresses> own_addresses(const std::vector<std::string>& configured);

}  // namespace weft::proxy
