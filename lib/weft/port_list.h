#pragma once

// Port lists as people write them ("25,443,8000-8100"): the one parser and
// formatter shared by the webhook (pod annotations, its configuration), weft-init
// (skip lists) and weft-proxy (opaque ports), so that every list the webhook
// accepts and writes into a pod is one the other programs accept too.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

namespace weft {

// Inclusive; first == last for a single port.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool operator==(const PortRange&) const = default;
};

// At most this many entries in one list: it bounds the iptables rules a list
// becomes, and ranges say the rest.
inline constexpr std::size_t kMaxPortListEntries = 64;

// "25,443,8000-8100": ports 1-65535, spaces around entries allowed, "" or blank is
// an empty list. Entries are kept as written (not sorted or merged).
Result<std::vector<PortRange>> parse_port_list(std::string_view text);

// The canonical text, which parse_port_list accepts back: "25,8000-8100".
std::string format_port_list(const std::vector<PortRange>& ports);

// A set of ports for lookups on the traffic path: the ranges sorted and merged,
// so "1-65535" is one entry and a lookup is a binary search over at most
// kMaxPortListEntries ranges.
class PortSet {
 public:
  PortSet() = default;
  explicit PortSet(std::vector<PortRange> ranges);

  bool contains(std::uint16_t port) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<PortRange>& ranges() const { return ranges_; }
  bool operator==(const PortSet&) const = default;

 private:
  std::vector<PortRange> ranges_;  // sorted, disjoint, not adjacent
};

// parse_port_list, then a PortSet.
Result<PortSet> parse_port_set(std::string_view text);

}  // namespace weft
