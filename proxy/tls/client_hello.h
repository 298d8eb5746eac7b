#pragma once

// A connection's first bytes read as a TLS ClientHello, without OpenSSL and
// without a copy when the hello fits in one record: is it one (complete, or
// more bytes needed), and which ALPN protocols and server name it offers.
// The inbound side terminates a hello that offers Weft's own protocol
// (kMeshAlpn) and passes any other TLS through as opaque TCP. Pure and
// bounded: nothing is read past the input, and a hello longer than
// kMaxClientHelloBytes (records included) is not ours (too_large).
//
// Detection reads a connection's first bytes as they come, and a client may
// cut its hello into records of one byte each: ClientHelloReader goes on
// from where its last call stopped, so each record is walked and each
// payload byte copied once, however many reads it takes (linear, where
// parsing all the bytes again at every read would be quadratic).

#include <cstddef>
#include <optional>
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
  bool too_large = false;         // kNotClientHello: past kMaxClientHelloBytes

  bool offers(std::string_view protocol) const;
};

// One connection's hello, read as its first bytes grow: each call is given
// all the bytes so far, the previous call's first (their views may move).
// Once complete or refused, the same answer again.
class ClientHelloReader {
 public:
  ClientHello read(std::string_view first_bytes);
  // Records walked over the reader's life (each once).
  std::size_t records_walked() const { return records_walked_; }
  // Whether it refused a hello past kMaxClientHelloBytes.
  bool too_large() const { return result_ && result_->too_large; }

 private:
  ClientHello finish(ClientHello hello);

  std::size_t offset_ = 0;         // bytes of the whole records walked
  std::size_t first_payload_ = 0;  // the first record's payload size
  std::string joined_;             // the payloads, once there are two records
  std::size_t message_size_ = 0;   // the handshake message's, header included; 0: unknown
  std::size_t records_walked_ = 0;
  std::optional<ClientHello> result_;  // the final answer
};

ClientHello parse_client_hello(std::string_view first_bytes);

}  // namespace weft::proxy
