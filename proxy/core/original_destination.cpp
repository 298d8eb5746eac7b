#include "proxy/core/original_destination.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace weft::proxy {

std::optional<tcp::endpoint> original_destination(Socket& socket) {
  error_code ec;
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) return std::nullopt;
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  const int fd = socket.native_handle();
  const bool v6 = local.address().is_v6() && !local.address().to_v6().is_v4_mapped();
  const int result = v6 ? ::getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &storage, &length)
                        : ::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &storage, &length);
  if (result != 0) return std::nullopt;
  tcp::endpoint original;
  if (storage.ss_family == AF_INET) {
    sockaddr_in address{};
    std::memcpy(&address, &storage, sizeof address);
    original = tcp::endpoint(asio::ip::address_v4(ntohl(address.sin_addr.s_addr)),
                             ntohs(address.sin_port));
  } else if (storage.ss_family == AF_INET6) {
    sockaddr_in6 address{};
    std::memcpy(&address, &storage, sizeof address);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &address.sin6_addr, bytes.size());
    original = tcp::endpoint(asio::ip::address_v6(bytes), ntohs(address.sin6_port));
  } else {
    return std::nullopt;
  }
  // Without a NAT entry conntrack reports the destination as it is: ourselves.
  if (original == local) return std::nullopt;
  return original;
}

}  // namespace weft::proxy
