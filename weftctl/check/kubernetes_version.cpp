#include "weftctl/check/kubernetes_version.h"

#include <charconv>

namespace weft::ctl::check {

std::optional<KubernetesVersion> parse_kubernetes_version(std::string_view git_version) {
  std::string_view text = git_version;
  if (!text.empty() && text.front() == 'v') text.remove_prefix(1);
  KubernetesVersion version;
  const char* end = text.data() + text.size();
  auto [after_major, major_error] = std::from_chars(text.data(), end, version.major);
  if (major_error != std::errc() || after_major == end || *after_major != '.') return std::nullopt;
  auto [after_minor, minor_error] = std::from_chars(after_major + 1, end, version.minor);
  if (minor_error != std::errc() || after_minor == after_major + 1) return std::nullopt;
  return version;
}

std::string to_string(KubernetesVersion version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor);
}

}  // namespace weft::ctl::check
