#include "proxy/tls/client_hello.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace weft::proxy {
namespace {

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHelloType = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecordPayload = 16 * 1024 + 256;  // TLSPlaintext's bound, generously
constexpr std::uint16_t kServerNameExtension = 0;
constexpr std::uint16_t kAlpnExtension = 16;

// Reads big-endian fields from a byte string; any read past its end fails
// and leaves the reader failed, so a parse checks ok() once at the end of a
// step rather than after every field.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && bytes_.empty(); }
  std::size_t number(std::size_t width) {
    if (!ok_ || bytes_.size() < width) return fail();
    std::size_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value = (value << 8) | static_cast<std::uint8_t>(bytes_[i]);
    }
    bytes_.remove_prefix(width);
    return value;
  }
  std::string_view take(std::size_t n) {
    if (!ok_ || bytes_.size() < n) {
      fail();
      return {};
    }
    const std::string_view piece = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return piece;
  }
  // A field preceded by its length on `width` bytes.
  std::string_view vector(std::size_t width) { return take(number(width)); }

 private:
  std::size_t fail() {
    ok_ = false;
    bytes_ = {};
    return 0;
  }
  std::string_view bytes_;
  bool ok_ = true;
};

bool parse_alpn(std::string_view data, std::vector<std::string>& out) {
  Reader reader(data);
  Reader list(reader.vector(2));
  if (!reader.done()) return false;
  while (list.ok() && !list.done()) {
    const std::string_view protocol = list.vector(1);
    if (!list.ok() || protocol.empty()) return false;
    out.emplace_back(protocol);
  }
  return list.ok() && !out.empty();
}

bool parse_server_name(std::string_view data, std::string& out) {
  Reader reader(data);
  Reader list(reader.vector(2));
  if (!reader.done()) return false;
  while (list.ok() && !list.done()) {
    const std::size_t type = list.number(1);
    const std::string_view name = list.vector(2);
    if (!list.ok()) return false;
    if (type == 0 && out.empty()) out = name;
  }
  return list.ok();
}

// The ClientHello message body (after the handshake header).
bool parse_body(std::string_view body, ClientHello& hello) {
  Reader reader(body);
  reader.take(2 + 32);                             // legacy_version, random
  if (reader.vector(1).size() > 32) return false;  // legacy_session_id
  const std::string_view suites = reader.vector(2);
  if (!reader.ok() || suites.empty() || suites.size() % 2 != 0) return false;
  if (reader.vector(1).empty()) return false;  // legacy_compression_methods
  if (reader.done()) return true;              // no extensions (TLS 1.2 and older)
  Reader extensions(reader.vector(2));
  if (!reader.done()) return false;
  bool seen_alpn = false;
  bool seen_sni = false;
  while (extensions.ok() && !extensions.done()) {
    const std::size_t type = extensions.number(2);
    const std::string_view data = extensions.vector(2);
    if (!extensions.ok()) return false;
    // A repeated extension is malformed (RFC 8446, 4.2).
    if (type == kAlpnExtension) {
      if (seen_alpn || !parse_alpn(data, hello.alpn)) return false;
      seen_alpn = true;
    } else if (type == kServerNameExtension) {
      if (seen_sni || !parse_server_name(data, hello.server_name)) return false;
      seen_sni = true;
    }
  }
  return extensions.ok();
}

ClientHello status(ClientHello::Status status) {
  ClientHello hello;
  hello.status = status;
  return hello;
}

}  // namespace

bool ClientHello::offers(std::string_view protocol) const {
  return std::find(alpn.begin(), alpn.end(), protocol) != alpn.end();
}

ClientHello ClientHelloReader::finish(ClientHello hello) {
  result_ = hello;
  joined_ = std::string();  // (the hello's fields are copies)
  return hello;
}

ClientHello ClientHelloReader::read(std::string_view bytes) {
  using Status = ClientHello::Status;
  if (result_) return *result_;
  const auto refuse = [this](bool too_large) {
    ClientHello hello = status(Status::kNotClientHello);
    hello.too_large = too_large;
    return finish(hello);
  };
  // The handshake message may span records: their payloads are joined, in
  // place while one record holds them all (the common case).
  const auto message = [&]() -> std::string_view {
    return records_walked_ == 1 ? bytes.substr(kRecordHeader, first_payload_)
                                : std::string_view(joined_);
  };
  while (message_size_ == 0 || message().size() < message_size_) {
    if (offset_ >= kMaxClientHelloBytes) return refuse(true);
    const std::string_view rest = bytes.substr(std::min(offset_, bytes.size()));
    // Judge the record header on the bytes there are: a wrong first byte
    // needs no second.
    if (!rest.empty() && static_cast<std::uint8_t>(rest[0]) != kHandshakeRecord) {
      return refuse(false);
    }
    if (rest.size() >= 2 && rest[1] != 3) return refuse(false);
    if (rest.size() < kRecordHeader) return status(Status::kNeedMoreBytes);
    const std::size_t length =
        (static_cast<std::uint8_t>(rest[3]) << 8) | static_cast<std::uint8_t>(rest[4]);
    if (length == 0 || length > kMaxRecordPayload) return refuse(false);
    if (offset_ + kRecordHeader + length > kMaxClientHelloBytes) return refuse(true);
    if (rest.size() < kRecordHeader + length) return status(Status::kNeedMoreBytes);
    const std::string_view payload = rest.substr(kRecordHeader, length);
    if (records_walked_ == 0) {
      first_payload_ = length;
    } else {
      if (records_walked_ == 1) joined_ = bytes.substr(kRecordHeader, first_payload_);
      joined_ += payload;
    }
    offset_ += kRecordHeader + length;
    ++records_walked_;
    const std::string_view so_far = message();
    if (message_size_ == 0 && so_far.size() >= 4) {
      if (static_cast<std::uint8_t>(so_far[0]) != kClientHelloType) return refuse(false);
      Reader header(so_far.substr(1, 3));
      message_size_ = 4 + header.number(3);
      if (message_size_ > kMaxClientHelloBytes) return refuse(true);
    }
  }
  // Bytes after the hello in its last record are another handshake message:
  // a client sends nothing more before the server's answer.
  const std::string_view whole = message();
  if (whole.size() != message_size_) return refuse(false);
  ClientHello hello;
  if (!parse_body(whole.substr(4), hello)) return refuse(false);
  hello.status = Status::kComplete;
  hello.size = offset_;
  return finish(std::move(hello));
}

ClientHello parse_client_hello(std::string_view bytes) {
  return ClientHelloReader().read(bytes);
}

}  // namespace weft::proxy
