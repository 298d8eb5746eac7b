#include "proxy/tcp/detect.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

TEST_CASE("HTTP/1 is recognised by its request line", "[detect]") {
  CHECK(detect_protocol("GET / HTTP/1.1\r\n") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("POST ") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("OPTIONS * HTTP/1.1") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("M-SEARCH * HTTP/1.1") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("VERSION-CONTROL /r HTTP/1.1") == DetectedProtocol::kHttp1);
}

TEST_CASE("a partial method waits for more bytes", "[detect]") {
  CHECK(detect_protocol("") == DetectedProtocol::kNeedMoreBytes);
  CHECK(detect_protocol("GE") == DetectedProtocol::kNeedMoreBytes);
  CHECK(detect_protocol("PRI * HTTP/2") == DetectedProtocol::kNeedMoreBytes);
}

TEST_CASE("everything else is opaque", "[detect]") {
  CHECK(detect_protocol("\x16\x03\x01\x02\x00") == DetectedProtocol::kOpaque);  // TLS
  CHECK(detect_protocol("get / HTTP/1.1") == DetectedProtocol::kOpaque);
  CHECK(detect_protocol(" GET") == DetectedProtocol::kOpaque);
  CHECK(detect_protocol("-GET / HTTP/1.1") == DetectedProtocol::kOpaque);
  CHECK(detect_protocol("SSH-2.0-OpenSSH") == DetectedProtocol::kOpaque);
  CHECK(detect_protocol("AAAAAAAAAAAAAAAAAAAAAAAAAAAA") == DetectedProtocol::kOpaque);
}

TEST_CASE("empty lines before the request line are skipped, as the parser skips them", "[detect]") {
  // Otherwise a client could have its HTTP taken as opaque TCP, which is
  // authorized and rate-limited once per connection rather than per request.
  CHECK(detect_protocol("\r\nGET / HTTP/1.1\r\n") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("\r\n\r\n\nPOST ") == DetectedProtocol::kHttp1);
  CHECK(detect_protocol("\r\n") == DetectedProtocol::kNeedMoreBytes);
  CHECK(detect_protocol("\r\n\x16\x03") == DetectedProtocol::kOpaque);
}

TEST_CASE("the HTTP/2 client preface is HTTP/2 once whole", "[detect]") {
  constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  CHECK(detect_protocol(preface) == DetectedProtocol::kHttp2);
  // Followed by the client's SETTINGS frame, as it always is.
  CHECK(detect_protocol(std::string(preface) + std::string("\0\0\0\4\0\0\0\0\0", 9)) ==
        DetectedProtocol::kHttp2);
  // Every proper prefix waits for the rest (a client may send it in pieces).
  for (std::size_t n = 1; n < preface.size(); ++n) {
    INFO(n);
    CHECK(detect_protocol(preface.substr(0, n)) == DetectedProtocol::kNeedMoreBytes);
  }
  // Anything else after "PRI " is not HTTP/2.
  CHECK(detect_protocol("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n") == DetectedProtocol::kHttp1);
  // Nothing may come before it: after empty lines it is neither protocol.
  CHECK(detect_protocol(std::string("\r\n") + std::string(preface)) == DetectedProtocol::kOpaque);
  CHECK(detect_inbound_protocol(preface) == DetectedProtocol::kHttp2);
}
