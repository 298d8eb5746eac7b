#pragma once

// A request as the layers see it, whatever protocol brought it: a small value
// of views into the codec's buffers (no copy), valid while the codec keeps
// the head (HTTP/1: until the head's bytes are consumed). The layers decide
// on it; only the codec that parsed it reads and forwards its bytes.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "weft/probe_routes.h"

namespace weft::proxy {

struct Header {
  std::string_view name;
  std::string_view value;  // optional whitespace around it already trimmed
};

// Where the body comes from, as far as the layers care: nothing, a known
// length (it can be kept whole to replay), or a stream to its end (HTTP/1
// chunked; HTTP/2 DATA frames without content-length).
struct BodySource {
  enum class Kind { kNone, kSized, kStreamed };
  Kind kind = Kind::kNone;
  std::uint64_t length = 0;  // for kSized
};

struct Request {
  std::string_view method;
  std::string_view authority;  // HTTP/1 Host, HTTP/2 :authority
  std::string_view path;       // without the query
  std::string_view query;      // after '?', or empty
  std::span<const Header> headers;
  BodySource body;
  bool expect_continue = false;  // the body comes only after a 100 Continue
  bool upgrade = false;          // asks to switch protocols (HTTP/1 Upgrade)
  // Trailers come at the body's end: the codec's, complete once it has ended.
  const std::string* trailers = nullptr;
  // The client's SPIFFE ID when it came over mTLS (inbound); empty otherwise.
  std::string_view client_identity;
  // Plaintext to a port a Strict MeshPolicy covers: only the kubelet's probes
  // of that port (`probe_routes`) are admitted. Views into the settings.
  bool mtls_required = false;
  std::span<const ProbeRoute> probe_routes{};
};

}  // namespace weft::proxy
