#pragma once

// Kubernetes names (RFC 1123 as Kubernetes applies it): lowercase only.
// Pure.

#include <string_view>

namespace weft {

// A DNS-1123 label: 1 to 63 of [a-z0-9-], starting and ending with a letter or
// digit (namespace names, service names).
bool is_dns_label(std::string_view text);

// A DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels
// (ServiceAccount and most object names).
bool is_dns_subdomain(std::string_view text);

}  // namespace weft
