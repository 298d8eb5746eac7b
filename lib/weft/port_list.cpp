#include "weft/port_list.h"

#include <algorithm>
#include <charconv>

namespace weft {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Digits only (no sign, no spaces), 1-65535.
bool parse_port(std::string_view text, std::uint16_t& out) {
  if (text.empty() || text.size() > 5) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

Result<PortRange> parse_entry(std::string_view entry) {
  const auto bad = [&] {
    return Error{"'" + std::string(entry) + "' is not a port (1-65535) or a range like 8000-8100"};
  };
  PortRange range;
  const auto dash = entry.find('-');
  if (dash == std::string_view::npos) {
    if (!parse_port(entry, range.first)) return bad();
    range.last = range.first;
    return range;
  }
  if (!parse_port(entry.substr(0, dash), range.first) ||
      !parse_port(entry.substr(dash + 1), range.last)) {
    return bad();
  }
  if (range.first > range.last) {
    return Error{"port range '" + std::string(entry) + "' ends before it starts"};
  }
  return range;
}

}  // namespace

Result<std::vector<PortRange>> parse_port_list(std::string_view text) {
  std::vector<PortRange> ports;
  if (trim(text).empty()) return ports;
  std::size_t entries = 0;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const auto entry = trim(rest.substr(0, comma));
    if (++entries > kMaxPortListEntries) {
      return Error{"too many ports (more than " + std::to_string(kMaxPortListEntries) +
                   "); use ranges"};
    }
    if (entry.empty()) return Error{"empty entry in port list '" + std::string(text) + "'"};
    auto range = parse_entry(entry);
    if (!range) return range.error();
    ports.push_back(*range);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return ports;
}

std::string format_port_list(const std::vector<PortRange>& ports) {
  std::string text;
  for (const auto& range : ports) {
    if (!text.empty()) text += ',';
    text += std::to_string(range.first);
    if (range.last != range.first) text += "-" + std::to_string(range.last);
  }
  return text;
}

PortSet::PortSet(std::vector<PortRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const PortRange& a, const PortRange& b) { return a.first < b.first; });
  for (const auto& range : ranges) {
    // Overlapping or adjacent: extend the last one.
    if (!ranges_.empty() && range.first <= ranges_.back().last + 1u) {
      ranges_.back().last = std::max(ranges_.back().last, range.last);
    } else {
      ranges_.push_back(range);
    }
  }
}

bool PortSet::contains(std::uint16_t port) const {
  // The first range that ends at or after the port.
  const auto it =
      std::lower_bound(ranges_.begin(), ranges_.end(), port,
                       [](const PortRange& range, std::uint16_t p) { return range.last < p; });
  return it != ranges_.end() && it->first <= port;
}

Result<PortSet> parse_port_set(std::string_view text) {
  auto ports = parse_port_list(text);
  if (!ports) return ports.error();
  return PortSet(std::move(*ports));
}

}  // namespace weft
