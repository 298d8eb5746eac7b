#pragma once

// A connection's first bytes read as a TLS ClientHello, without OpenSSL and
// without a copy when the hello fits in one record: is it one (complete, or
// more bytes needed), and which ALPN protocols and server name it offers.
// The inbound side terminates a hello that offers Weft's own protocol
// (kMeshAlpn) and passes any other TLS through as opaque TCP. Pure and
// bounded: nothing is read past the input, and a hello longer than
// kMaxClientHelloBytes (records included) is not ours.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy {

inline constexpr std::string_view kMeshAlpn = "weft.io/mesh";
inline constexpr std::size_t kMaxClientHelloBytes = 16 * 1024;

struct ClientHello {
  enum class Status {
    kNeedMoreBytes,  // a TLS handshake so far, the hello not complete yet
    kComplete,       // a whole ClientHello: alpn and server_name are set
    kNotClientHello  // not TLS, a malformed or oversized hello: opaque bytes
  };
  Status status = Status::kNeedMoreBytes;
  std::vector<std::string> alpn;  // offered protocols, in the client's order
  std::string server_name;        // SNI host_name, empty when absent
  std::size_t size = 0;           // bytes of the records that carry the hello

  bool offers(std::string_view protocol) const;
};

ClientHello parse_client_hello(std::string_view first_bytes);

}  // namespace weft::proxy
