#pragma once

// Standard base64 (RFC 4648, with padding): AdmissionReview patches, Secret data
// and caBundle fields are all base64 in the Kubernetes API.

#include <optional>
#include <string>
#include <string_view>

namespace weft::webhook {

std::string base64_encode(std::string_view data);
// Appends the encoding to out (the AdmissionReview response is built in place).
void base64_append(std::string& out, std::string_view data);
// nullopt for text that is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace weft::webhook
