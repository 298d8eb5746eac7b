#include "proxy/tcp/detect.h"

#include <algorithm>
#include <optional>

#include "proxy/tls/client_hello.h"

namespace weft::proxy {
namespace {
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::size_t kLongestMethod = 20;

// Whether `bytes` start with the preface: kHttp2 when whole, kNeedMoreBytes
// while they are a proper prefix of it, nullopt when they differ.
std::optional<DetectedProtocol> match_preface(std::string_view bytes) {
  const std::size_t part = std::min(bytes.size(), kHttp2Preface.size());
  if (bytes.substr(0, part) != kHttp2Preface.substr(0, part)) return std::nullopt;
  return part == kHttp2Preface.size() ? DetectedProtocol::kHttp2 : DetectedProtocol::kNeedMoreBytes;
}

}  // namespace

DetectedProtocol detect_protocol(std::string_view bytes) {
  // The preface comes first, with nothing before it (RFC 9113 section 3.4).
  if (!bytes.empty()) {
    if (const auto preface = match_preface(bytes)) return *preface;
  }
  // Empty lines before a request line are allowed (RFC 9112 section 2.2) and
  // the HTTP/1 parser skips them: so does detection, or a client could make
  // its HTTP look opaque and be decided once per connection, not per request.
  const auto first = bytes.find_first_not_of("\r\n");
  if (first == std::string_view::npos) return DetectedProtocol::kNeedMoreBytes;
  bytes.remove_prefix(first);
  // A preface after empty lines is no HTTP/2 (nor HTTP/1): opaque, once whole.
  if (const auto preface = match_preface(bytes)) {
    return *preface == DetectedProtocol::kHttp2 ? DetectedProtocol::kOpaque : *preface;
  }
  for (std::size_t i = 0; i < bytes.size() && i <= kLongestMethod; ++i) {
    const char c = bytes[i];
    if (c == ' ') return i > 0 ? DetectedProtocol::kHttp1 : DetectedProtocol::kOpaque;
    // Registered methods are upper-case letters, some with a '-' inside
    // (M-SEARCH, VERSION-CONTROL, BASELINE-CONTROL).
    const bool dash = c == '-' && i > 0;
    if ((c < 'A' || c > 'Z') && !dash) return DetectedProtocol::kOpaque;
  }
  return bytes.size() > kLongestMethod ? DetectedProtocol::kOpaque
                                       : DetectedProtocol::kNeedMoreBytes;
}

DetectedProtocol detect_inbound_protocol(std::string_view bytes) {
  ClientHelloReader reader;
  return detect_inbound_protocol(bytes, reader);
}

DetectedProtocol detect_inbound_protocol(std::string_view bytes, ClientHelloReader& reader) {
  constexpr char kHandshakeRecord = 0x16;
  if (bytes.empty() || bytes[0] != kHandshakeRecord) return detect_protocol(bytes);
  const ClientHello hello = reader.read(bytes);
  switch (hello.status) {
    case ClientHello::Status::kNeedMoreBytes:
      return DetectedProtocol::kNeedMoreBytes;
    case ClientHello::Status::kComplete:
      return hello.offers(kMeshAlpn) ? DetectedProtocol::kMeshTls : DetectedProtocol::kOpaque;
    case ClientHello::Status::kNotClientHello:
      break;
  }
  return DetectedProtocol::kOpaque;
}

}  // namespace weft::proxy
