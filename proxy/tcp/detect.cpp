#include "proxy/tcp/detect.h"

#include "proxy/tls/client_hello.h"

namespace weft::proxy {
namespace {
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::size_t kLongestMethod = 20;
}  // namespace

DetectedProtocol detect_protocol(std::string_view bytes) {
  // Empty lines before a request line are allowed (RFC 9112 section 2.2) and
  // the HTTP/1 parser skips them: so does detection, or a client could make
  // its HTTP look opaque and be decided once per connection, not per request.
  const auto first = bytes.find_first_not_of("\r\n");
  if (first == std::string_view::npos) return DetectedProtocol::kNeedMoreBytes;
  bytes.remove_prefix(first);
  const std::size_t preface_part = std::min(bytes.size(), kHttp2Preface.size());
  if (bytes.substr(0, preface_part) == kHttp2Preface.substr(0, preface_part)) {
    return preface_part == kHttp2Preface.size() ? DetectedProtocol::kOpaque
                                                : DetectedProtocol::kNeedMoreBytes;
  }
  for (std::size_t i = 0; i < bytes.size() && i <= kLongestMethod; ++i) {
    const char c = bytes[i];
    if (c == ' ') return i > 0 ? DetectedProtocol::kHttp1 : DetectedProtocol::kOpaque;
    if (c < 'A' || c > 'Z') return DetectedProtocol::kOpaque;
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
