#include "weft/capture/rules.h"

#include <charconv>

namespace weft::capture {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Splits on commas; an empty or blank text is no entries at all.
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> entries;
  if (trim(text).empty()) return entries;
  while (true) {
    const auto comma = text.find(',');
    entries.push_back(trim(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return entries;
}

// Digits only: no sign, no spaces, no leading '+', and within [min, max].
bool parse_number(std::string_view text, std::uint32_t max, std::uint32_t& out) {
  if (text.empty() || text.size() > 10) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > max) return false;
  out = static_cast<std::uint32_t>(value);
  return true;
}

std::string format_address(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::string format_subnet(const Ipv4Subnet& subnet) {
  return format_address(subnet.address) + "/" + std::to_string(subnet.prefix_length);
}

Result<Ipv4Subnet> parse_subnet_entry(std::string_view entry) {
  const std::string quoted = "'" + std::string(entry) + "'";
  if (entry.find(':') != std::string_view::npos) {
    return Error{quoted + ": IPv6 subnets cannot be skipped (only IPv4 ones)"};
  }
  const auto slash = entry.find('/');
  if (slash == std::string_view::npos) {
    return Error{quoted + " is not a subnet: write it as address/prefix, e.g. " +
                 std::string(entry) + "/32"};
  }
  std::uint32_t address = 0;
  std::string_view rest = entry.substr(0, slash);
  for (int octet = 0; octet < 4; ++octet) {
    const auto dot = rest.find('.');
    if ((octet < 3) == (dot == std::string_view::npos)) {
      return Error{quoted + " is not an IPv4 subnet like 10.0.0.0/8"};
    }
    std::uint32_t value = 0;
    const auto part = rest.substr(0, dot);
    // No leading zeros: "010" means octal to some tools and decimal to others.
    if (!parse_number(part, 255, value) || (part.size() > 1 && part.front() == '0')) {
      return Error{quoted + " is not an IPv4 subnet like 10.0.0.0/8"};
    }
    address = (address << 8) | value;
    if (dot != std::string_view::npos) rest.remove_prefix(dot + 1);
  }
  std::uint32_t prefix = 0;
  const auto prefix_text = entry.substr(slash + 1);
  if (!parse_number(prefix_text, 32, prefix) ||
      (prefix_text.size() > 1 && prefix_text.front() == '0')) {
    return Error{quoted + " has an invalid prefix length (0-32)"};
  }
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  if ((address & ~mask) != 0) {
    const Ipv4Subnet network{address & mask, static_cast<int>(prefix)};
    return Error{quoted + " has host bits set; did you mean " + format_subnet(network) + "?"};
  }
  return Ipv4Subnet{address, static_cast<int>(prefix)};
}

std::string iptables_port(const PortRange& range) {
  return range.first == range.last ? std::to_string(range.first)
                                   : std::to_string(range.first) + ":" + std::to_string(range.last);
}

}  // namespace

Result<std::vector<Ipv4Subnet>> parse_subnet_list(std::string_view text) {
  std::vector<Ipv4Subnet> subnets;
  const auto entries = split_list(text);
  if (entries.size() > kMaxListEntries) {
    return Error{"too many subnets (" + std::to_string(entries.size()) + ", at most " +
                 std::to_string(kMaxListEntries) + ")"};
  }
  for (const auto entry : entries) {
    if (entry.empty()) return Error{"empty entry in subnet list '" + std::string(text) + "'"};
    auto subnet = parse_subnet_entry(entry);
    if (!subnet) return subnet.error();
    subnets.push_back(*subnet);
  }
  return subnets;
}

std::string format_subnet_list(const std::vector<Ipv4Subnet>& subnets) {
  std::string text;
  for (const auto& subnet : subnets) {
    if (!text.empty()) text += ',';
    text += format_subnet(subnet);
  }
  return text;
}

Result<bool> validate(const CaptureSettings& settings) {
  if (settings.proxy_uid == 0) {
    return Error{"the proxy UID must not be 0: root's own traffic would bypass capture"};
  }
  if (settings.inbound_port == 0 || settings.outbound_port == 0 || settings.admin_port == 0) {
    return Error{"proxy ports must not be 0"};
  }
  if (settings.inbound_port == settings.outbound_port ||
      settings.inbound_port == settings.admin_port ||
      settings.outbound_port == settings.admin_port) {
    return Error{"the proxy's inbound, outbound and admin ports must be distinct"};
  }
  if (settings.skip_inbound_ports.size() > kMaxListEntries ||
      settings.skip_outbound_ports.size() > kMaxListEntries ||
      settings.skip_subnets.size() > kMaxListEntries) {
    return Error{"too many skip entries (at most " + std::to_string(kMaxListEntries) + " each)"};
  }
  return true;
}

namespace {

enum class Family { kIpv4, kIpv6 };

std::string restore_rules(const CaptureSettings& settings, Family family) {
  std::string rules = "*nat\n";
  rules += ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  rules += ":POSTROUTING ACCEPT [0:0]\n";
  rules += ":WEFT_INBOUND - [0:0]\n:WEFT_INBOUND_REDIRECT - [0:0]\n";
  rules += ":WEFT_OUTBOUND - [0:0]\n:WEFT_OUTBOUND_REDIRECT - [0:0]\n";

  // Inbound: every TCP connection arriving at the pod, except the admin port and
  // the skipped ports, goes to the proxy's inbound port.
  rules += "-A PREROUTING -p tcp -j WEFT_INBOUND\n";
  rules += "-A WEFT_INBOUND -p tcp --dport " + std::to_string(settings.admin_port) + " -j RETURN\n";
  for (const auto& range : settings.skip_inbound_ports) {
    rules += "-A WEFT_INBOUND -p tcp --dport " + iptables_port(range) + " -j RETURN\n";
  }
  rules += "-A WEFT_INBOUND -p tcp -j WEFT_INBOUND_REDIRECT\n";
  rules += "-A WEFT_INBOUND_REDIRECT -p tcp -j REDIRECT --to-ports " +
           std::to_string(settings.inbound_port) + "\n";

  // Outbound: TCP the pod opens, except the proxy's own (or it would loop back
  // into itself), loopback, and the skipped ports and subnets, goes to the
  // proxy's outbound port.
  rules += "-A OUTPUT -p tcp -j WEFT_OUTBOUND\n";
  rules += "-A WEFT_OUTBOUND -m owner --uid-owner " + std::to_string(settings.proxy_uid) +
           " -j RETURN\n";
  rules += "-A WEFT_OUTBOUND -o lo -j RETURN\n";
  for (const auto& range : settings.skip_outbound_ports) {
    rules += "-A WEFT_OUTBOUND -p tcp --dport " + iptables_port(range) + " -j RETURN\n";
  }
  if (family == Family::kIpv4) {
    for (const auto& subnet : settings.skip_subnets) {
      rules += "-A WEFT_OUTBOUND -d " + format_subnet(subnet) + " -j RETURN\n";
    }
  }
  rules += "-A WEFT_OUTBOUND -p tcp -j WEFT_OUTBOUND_REDIRECT\n";
  rules += "-A WEFT_OUTBOUND_REDIRECT -p tcp -j REDIRECT --to-ports " +
           std::to_string(settings.outbound_port) + "\n";
  rules += "COMMIT\n";
  return rules;
}

}  // namespace

std::string iptables_restore_rules(const CaptureSettings& settings) {
  return restore_rules(settings, Family::kIpv4);
}

std::string ip6tables_restore_rules(const CaptureSettings& settings) {
  return restore_rules(settings, Family::kIpv6);
}

}  // namespace weft::capture
