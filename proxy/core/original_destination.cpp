#include "proxy/core/original_destination.h"

#include <ifaddrs.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
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

namespace {

asio::ip::address normalised(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

OwnAddresses::OwnAddresses(std::vector<asio::ip::address> addresses) {
  for (auto& address : addresses) address = normalised(address);
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  addresses_ = std::move(addresses);
}

bool OwnAddresses::contains(const asio::ip::address& address) const {
  return std::binary_search(addresses_.begin(), addresses_.end(), normalised(address));
}

bool delivers_to_own_pod(const tcp::endpoint& destination, const OwnAddresses& own) {
  return own.contains(destination.address());
}

Result<std::vector<asio::ip::address>> interface_addresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return Error{std::string("cannot list the interface addresses: ") + std::strerror(errno)};
  }
  std::vector<asio::ip::address> addresses;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    if (entry->ifa_addr->sa_family == AF_INET) {
      sockaddr_in address{};
      std::memcpy(&address, entry->ifa_addr, sizeof address);
      addresses.emplace_back(asio::ip::address_v4(ntohl(address.sin_addr.s_addr)));
    } else if (entry->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 address{};
      std::memcpy(&address, entry->ifa_addr, sizeof address);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &address.sin6_addr, bytes.size());
      // (The scope id is left out: a destination from conntrack has none.)
      addresses.emplace_back(asio::ip::address_v6(bytes));
    }
  }
  ::freeifaddrs(list);
  return addresses;
}

Result<OwnAddresses> own_addresses(const std::vector<std::string>& configured) {
  if (configured.empty()) {
    auto found = interface_addresses();
    if (!found) return found.error();
    return OwnAddresses(std::move(*found));
  }
  std::vector<asio::ip::address> addresses;
  for (const auto& text : configured) {
    error_code ec;
    const auto address = asio::ip::make_address(text, ec);
    if (ec) return Error{"'" + text + "' is not an IP address"};
    addresses.push_back(address);
  }
  return OwnAddresses(std::move(addresses));
}

}  // namespace weft::proxy
