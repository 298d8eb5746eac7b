#include "proxy/tls/client_hello.h"

#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "proxy/tcp/detect.h"
#include "weft/openssl.h"

using namespace weft::proxy;

namespace {

// A real ClientHello, as OpenSSL's client sends it first.
std::string openssl_hello(const std::string& alpn_wire, const std::string& server_name) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  if (!alpn_wire.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned>(alpn_wire.size()));
  }
  if (!server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read: the hello is written
  std::string hello = weft::openssl::bio_text(out);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

const std::string kMeshAndH2 = std::string("\x0cweft.io/mesh\x02h2", 16);

// The same handshake message cut into records of at most `piece` bytes.
std::string refragment(const std::string& hello, std::size_t piece) {
  const std::string message = hello.substr(5);
  std::string out;
  for (std::size_t at = 0; at < message.size(); at += piece) {
    const std::string part = message.substr(at, piece);
    out += std::string("\x16\x03\x01", 3);
    out += static_cast<char>(part.size() >> 8);
    out += static_cast<char>(part.size() & 0xff);
    out += part;
  }
  return out;
}

}  // namespace

TEST_CASE("a ClientHello offering the mesh protocol is recognised", "[tls][client_hello]") {
  const std::string hello = openssl_hello(kMeshAndH2, "web.shop.serviceaccount.identity.weft.x");
  const ClientHello parsed = parse_client_hello(hello);
  REQUIRE(parsed.status == ClientHello::Status::kComplete);
  CHECK(parsed.alpn == std::vector<std::string>{"weft.io/mesh", "h2"});
  CHECK(parsed.offers(kMeshAlpn));
  CHECK(parsed.server_name == "web.shop.serviceaccount.identity.weft.x");
  CHECK(parsed.size == hello.size());
}

TEST_CASE("an application's TLS without the mesh protocol is not ours", "[tls][client_hello]") {
  const ClientHello plain = parse_client_hello(openssl_hello("", "example.com"));
  REQUIRE(plain.status == ClientHello::Status::kComplete);
  CHECK(plain.alpn.empty());
  CHECK_FALSE(plain.offers(kMeshAlpn));
  CHECK(plain.server_name == "example.com");
  const ClientHello h2 = parse_client_hello(openssl_hello(std::string("\x02h2", 3), ""));
  REQUIRE(h2.status == ClientHello::Status::kComplete);
  CHECK_FALSE(h2.offers(kMeshAlpn));
  CHECK(h2.server_name.empty());
}

TEST_CASE("every prefix of a ClientHello needs more bytes", "[tls][client_hello]") {
  const std::string hello = openssl_hello(kMeshAndH2, "a.b");
  for (std::size_t n = 0; n < hello.size(); ++n) {
    INFO(n);
    CHECK(parse_client_hello(std::string_view(hello).substr(0, n)).status ==
          ClientHello::Status::kNeedMoreBytes);
  }
}

TEST_CASE("a ClientHello split over several records is joined", "[tls][client_hello]") {
  const std::string hello = openssl_hello(kMeshAndH2, "a.b");
  for (const std::size_t piece : {1UL, 7UL, 100UL}) {
    const std::string fragmented = refragment(hello, piece);
    const ClientHello parsed = parse_client_hello(fragmented);
    REQUIRE(parsed.status == ClientHello::Status::kComplete);
    CHECK(parsed.offers(kMeshAlpn));
    CHECK(parsed.server_name == "a.b");
    CHECK(
        parse_client_hello(std::string_view(fragmented).substr(0, fragmented.size() - 1)).status ==
        ClientHello::Status::kNeedMoreBytes);
  }
}

TEST_CASE("other protocols and hostile bytes are not a ClientHello", "[tls][client_hello]") {
  // Records of one byte each up to the cap never complete.
  std::string one_byte_records;
  while (one_byte_records.size() <= kMaxClientHelloBytes) {
    one_byte_records += std::string("\x16\x03\x01\x00\x01\x01", 6);
  }
  const std::vector<std::pair<std::string, std::string>> cases{
      {"HTTP/1", "GET / HTTP/1.1\r\n"},
      {"application data", "\x17"},
      {"a handshake record of another version", std::string("\x16\x02", 2)},
      {"an empty record", std::string("\x16\x03\x01\x00\x00", 5)},
      {"a record longer than TLS allows", std::string("\x16\x03\x01\x7f\xff", 5)},
      {"a hello claiming more than the cap",
       std::string("\x16\x03\x01\x00\x04\x01\x01\x00\x00", 9)},
      {"a ServerHello", std::string("\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9)},
      {"an empty hello body", std::string("\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9)},
      {"one-byte records up to the cap", one_byte_records},
  };
  for (const auto& [what, bytes] : cases) {
    INFO(what);
    CHECK(parse_client_hello(bytes).status == ClientHello::Status::kNotClientHello);
  }
}

TEST_CASE("every corrupted length in a real ClientHello is caught within its bounds",
          "[tls][client_hello]") {
  const std::string hello = openssl_hello(kMeshAndH2, "a.b");
  // Each byte set to 0x00 and to 0xff: the parser answers, within the input
  // (ASan in the fuzz build), and a complete answer still names only
  // protocols found in the input.
  for (std::size_t i = 0; i < hello.size(); ++i) {
    for (const char value : {'\x00', '\xff'}) {
      std::string corrupted = hello;
      corrupted[i] = value;
      const ClientHello parsed = parse_client_hello(corrupted);
      if (parsed.status == ClientHello::Status::kComplete) {
        for (const std::string& protocol : parsed.alpn) {
          CHECK(corrupted.find(protocol) != std::string::npos);
        }
        CHECK(parsed.size <= corrupted.size());
      }
    }
  }
  // A repeated ALPN extension is malformed: built by hand.
  const std::string alpn_ext = std::string("\x00\x10\x00\x05\x00\x03\x02h2", 9);
  std::string body = std::string("\x03\x03", 2) + std::string(32, 'r') + std::string("\x00", 1) +
                     std::string("\x00\x02\x13\x01", 4) + std::string("\x01\x00", 2);
  const std::string extensions = alpn_ext + alpn_ext;
  body += static_cast<char>(extensions.size() >> 8);
  body += static_cast<char>(extensions.size() & 0xff);
  body += extensions;
  std::string message = std::string("\x01\x00", 2);
  message += static_cast<char>(body.size() >> 8);
  message += static_cast<char>(body.size() & 0xff);
  message += body;
  std::string record = std::string("\x16\x03\x01", 3);
  record += static_cast<char>(message.size() >> 8);
  record += static_cast<char>(message.size() & 0xff);
  record += message;
  CHECK(parse_client_hello(record).status == ClientHello::Status::kNotClientHello);
  // With one extension it is a good hello.
  const std::string once = record.substr(0, record.size() - alpn_ext.size());
  std::string fixed = once;
  const std::size_t ext_len_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
  fixed[ext_len_at + 1] = static_cast<char>(alpn_ext.size());
  fixed[5 + 3] = static_cast<char>(message.size() - 4 - alpn_ext.size());
  fixed[4] = static_cast<char>(message.size() - alpn_ext.size());
  const ClientHello parsed = parse_client_hello(fixed);
  REQUIRE(parsed.status == ClientHello::Status::kComplete);
  CHECK(parsed.alpn == std::vector<std::string>{"h2"});
}

TEST_CASE("a ClientHello in one-byte records, read as it arrives, walks each record once",
          "[tls][client_hello]") {
  const std::string hello = openssl_hello(kMeshAndH2, "a.b");
  const std::string fragmented = refragment(hello, 1);
  const std::size_t records = hello.size() - 5;  // one per byte of the message
  REQUIRE(fragmented.size() == records * 6);
  ClientHelloReader reader;
  // One read per byte, each given all the bytes so far, as detection does.
  for (std::size_t n = 1; n < fragmented.size(); ++n) {
    INFO(n);
    REQUIRE(reader.read(std::string_view(fragmented).substr(0, n)).status ==
            ClientHello::Status::kNeedMoreBytes);
  }
  const ClientHello parsed = reader.read(fragmented);
  REQUIRE(parsed.status == ClientHello::Status::kComplete);
  CHECK(parsed.offers(kMeshAlpn));
  CHECK(parsed.server_name == "a.b");
  CHECK(parsed.size == fragmented.size());
  CHECK_FALSE(reader.too_large());
  // Linear: every record walked once over about 1,800 reads, where parsing
  // from the start at each read would walk about records^2 / 12 of them.
  CHECK(reader.records_walked() == records);
  // Decided: the same answer again, nothing walked.
  CHECK(reader.read(fragmented).status == ClientHello::Status::kComplete);
  CHECK(reader.records_walked() == records);
}

TEST_CASE("a ClientHello whose one-byte records pass the cap is refused as too large",
          "[tls][client_hello]") {
  // A hello of about 3 KiB (a long ALPN list): whole, it is a hello; in
  // one-byte records (6 bytes each) it passes kMaxClientHelloBytes.
  std::string alpn;
  for (int i = 0; i < 12; ++i)
    alpn += static_cast<char>(250) + std::string(250, static_cast<char>('a' + i));
  const std::string hello = openssl_hello(alpn, "a.b");
  REQUIRE(hello.size() < kMaxClientHelloBytes);
  REQUIRE(parse_client_hello(hello).status == ClientHello::Status::kComplete);
  const std::string fragmented = refragment(hello, 1);
  REQUIRE(fragmented.size() > kMaxClientHelloBytes);
  ClientHelloReader reader;
  ClientHello parsed;
  for (std::size_t n = 512; parsed.status == ClientHello::Status::kNeedMoreBytes; n += 512) {
    REQUIRE(n <= fragmented.size());
    parsed = reader.read(std::string_view(fragmented).substr(0, n));
  }
  CHECK(parsed.status == ClientHello::Status::kNotClientHello);
  CHECK(parsed.too_large);
  CHECK(reader.too_large());
  CHECK(reader.records_walked() <= kMaxClientHelloBytes / 6);
  CHECK(parse_client_hello(fragmented).too_large);
  // A malformed hello is refused, but not for its size.
  CHECK_FALSE(parse_client_hello(std::string("\x16\x03\x01\x00\x00", 5)).too_large);
}

TEST_CASE("inbound detection reads a hello on across reads", "[tls][client_hello][detect]") {
  const std::string fragmented = refragment(openssl_hello(kMeshAndH2, "a.b"), 1);
  ClientHelloReader reader;
  for (std::size_t n = 1; n < fragmented.size(); n += 6) {
    REQUIRE(detect_inbound_protocol(std::string_view(fragmented).substr(0, n), reader) ==
            DetectedProtocol::kNeedMoreBytes);
  }
  CHECK(detect_inbound_protocol(fragmented, reader) == DetectedProtocol::kMeshTls);
  CHECK(reader.records_walked() == fragmented.size() / 6);
  ClientHelloReader unused;
  CHECK(detect_inbound_protocol("GET / HTTP/1.1\r\n", unused) == DetectedProtocol::kHttp1);
  CHECK(unused.records_walked() == 0);
}
