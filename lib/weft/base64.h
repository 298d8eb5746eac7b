#pragma once

// Standard base64 (RFC 4648 section 4, padded), as the Kubernetes API writes
// every []byte field (Secret data, caBundle, AdmissionReview patches,
// kubeconfig *-data). OpenSSL does the coding; this file adds the checks
// OpenSSL's EVP_DecodeBlock lacks.

#include <optional>
#include <string>
#include <string_view>

namespace weft {

std::string base64_encode(std::string_view data);
// Appends the encoding to out (the AdmissionReview response is built in place).
void base64_append(std::string& out, std::string_view data);

// The decoded bytes, or nullopt. The rules are those of Go's
// base64.StdEncoding, which encoded everything this reads: '\r' and '\n' are
// skipped anywhere (PEM-style wrapped lines); the rest must be a multiple of
// four characters from the alphabet, with '=' only as the last one or two.
// Non-zero bits under the padding are tolerated, as Go does.
std::optional<std::string> base64_decode(std::string_view text);

// Base64url without padding (RFC 4648 section 5), as the parts of a JWT are
// written (RFC 7515): '-' and '_' for '+' and '/', no '=', no line breaks.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace weft
