#pragma once

// The traffic-capture rule set that weft-init installs in a pod's network
// namespace: a pure function from settings to iptables-restore input, shared by
// the webhook (which turns pod annotations into settings), weft-init (which
// applies the rules) and the proxy's network-namespace tests, so what is
// injected is what is tested. See docs/webhook.md for the rules explained.
//
// IPv4 only for now (the nat table of iptables, not ip6tables).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/constants.h"
#include "weft/result.h"

namespace weft::capture {

// Inclusive; first == last for a single port.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool operator==(const PortRange&) const = default;
};

struct Ipv4Subnet {
  std::uint32_t address = 0;  // host byte order, host bits zero
  int prefix_length = 32;
  bool operator==(const Ipv4Subnet&) const = default;
};

struct CaptureSettings {
  // Connections made by this UID (the proxy's own) are never captured.
  std::uint32_t proxy_uid = kProxyUid;
  std::uint16_t inbound_port = kProxyInboundPort;    // inbound TCP lands here
  std::uint16_t outbound_port = kProxyOutboundPort;  // outbound TCP lands here
  // Always exempt from inbound capture: the kubelet probes it and Prometheus scrapes it.
  std::uint16_t admin_port = kProxyAdminPort;
  std::vector<PortRange> skip_inbound_ports;   // destination ports of inbound TCP
  std::vector<PortRange> skip_outbound_ports;  // destination ports of outbound TCP
  std::vector<Ipv4Subnet> skip_subnets;        // destinations of outbound TCP
};

// At most this many entries in one list, which bounds the rule count.
inline constexpr std::size_t kMaxListEntries = 64;

// "25,443,8000-8100" (spaces around entries allowed; "" is an empty list).
Result<std::vector<PortRange>> parse_port_list(std::string_view text);
// "10.0.0.0/8,192.168.1.7/32" ("" is an empty list). A subnet with host bits set
// is refused (its meaning is unclear), as are bare addresses and IPv6.
Result<std::vector<Ipv4Subnet>> parse_subnet_list(std::string_view text);

// The canonical text of a list, which the parsers above accept back:
// "25,8000-8100" and "10.0.0.0/8,192.168.1.7/32".
std::string format_port_list(const std::vector<PortRange>& ports);
std::string format_subnet_list(const std::vector<Ipv4Subnet>& subnets);

// Checks what the parsers cannot: distinct proxy ports, non-zero ports, root UID.
Result<bool> validate(const CaptureSettings& settings);

// iptables-restore input for the nat table. Applied without --noflush it replaces
// the pod's nat table, so applying it twice leaves the same rules (idempotent on
// an init container restart). Chains: WEFT_INBOUND (from PREROUTING),
// WEFT_OUTBOUND (from OUTPUT), and one *_REDIRECT chain each.
std::string iptables_restore_rules(const CaptureSettings& settings);

}  // namespace weft::capture
