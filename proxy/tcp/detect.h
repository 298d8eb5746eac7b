#pragma once

// Protocol detection on a connection's first bytes: HTTP/2 if they are the
// client connection preface (prior knowledge, RFC 9113 section 3.4: what
// gRPC clients and h2c send), HTTP/1 if they start like a request line (an
// upper-case method, '-' allowed after its first letter, and a space);
// anything else is opaque TCP. Pure, so it
// is tested on byte strings.

#include <string_view>

namespace weft::proxy {

enum class DetectedProtocol { kNeedMoreBytes, kHttp1, kHttp2, kOpaque, kMeshTls };

DetectedProtocol detect_protocol(std::string_view first_bytes);

// On the inbound side, before the above: a TLS ClientHello offering Weft's
// ALPN protocol (proxy/tls/client_hello.h) is kMeshTls, terminated by the
// proxy; any other TLS is the application's own: kOpaque.
DetectedProtocol detect_inbound_protocol(std::string_view first_bytes);

class ClientHelloReader;
// The same for a connection whose first bytes grow between calls: `hello`
// goes on from its last call (linear in the bytes, however many reads).
DetectedProtocol detect_inbound_protocol(std::string_view first_bytes, ClientHelloReader& hello);

}  // namespace weft::proxy
