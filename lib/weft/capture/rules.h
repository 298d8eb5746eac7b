#pragma once

// The traffic-capture rule set that weft-init installs in a pod's network
// namespace: a pure function from settings to iptables-restore input, shared by
// the webhook (which turns pod annotations into settings), weft-init (which
// applies the rules) and the proxy's network-namespace tests, so what is
// injected is what is tested. See docs/webhook.md for the rules explained.
//
// Both families are captured: the same chains for iptables and ip6tables, so a
// pod with an IPv6 address cannot leave the mesh by dialling IPv6. Skipped
// subnets are IPv4 only (an IPv6 subnet is refused by the parser).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/constants.h"
#include "weft/port_list.h"
#include "weft/result.h"

namespace weft::capture {

// Port lists are weft/port_list.h's, shared with the proxy's opaque ports.
using weft::format_port_list;
using weft::parse_port_list;
using weft::PortRange;

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
inline constexpr std::size_t kMaxListEntries = kMaxPortListEntries;

// "10.0.0.0/8,192.168.1.7/32" ("" is an empty list). A subnet with host bits set
// is refused (its meaning is unclear), as are bare addresses and IPv6.
Result<std::vector<Ipv4Subnet>> parse_subnet_list(std::string_view text);

// The canonical text of a list, which the parser above accepts back:
// "10.0.0.0/8,192.168.1.7/32".
std::string format_subnet_list(const std::vector<Ipv4Subnet>& subnets);

// Checks what the parsers cannot: distinct proxy ports, non-zero ports, root UID.
Result<bool> validate(const CaptureSettings& settings);

// iptables-restore input for the nat table. Applied without --noflush it replaces
// the pod's nat table, so applying it twice leaves the same rules (idempotent on
// an init container restart). Chains: WEFT_INBOUND (from PREROUTING),
// WEFT_OUTBOUND (from OUTPUT), and one *_REDIRECT chain each.
std::string iptables_restore_rules(const CaptureSettings& settings);

// The same for ip6tables-restore: the same chains and exemptions, without the
// skipped subnets (IPv4 addresses). Applied beside the IPv4 rules, so IPv6
// traffic is captured too (and refused if the proxy does not listen on IPv6,
// rather than let through).
std::string ip6tables_restore_rules(const CaptureSettings& settings);

}  // namespace weft::capture
