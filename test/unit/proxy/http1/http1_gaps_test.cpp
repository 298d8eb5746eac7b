// HTTP/1 details an attacker could lean on: a Connection header naming Host
// or framing headers, trailers that carry framing or routing fields, a
// response with transfer codings before chunked, and the normalised path.

#include <catch2/catch.hpp>
#include <string>

#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"

using namespace weft::proxy::http1;

namespace {

std::string decode_trailers(std::string_view encoded) {
  BodyDecoder decoder;
  decoder.reset(BodyKind::kChunked);
  while (!decoder.done()) {
    const BodyDecoder::Step step = decoder.decode(encoded);
    REQUIRE(step.error.status == 0);
    REQUIRE((step.consumed > 0 || step.done));
    encoded.remove_prefix(step.consumed);
  }
  return decoder.trailers();
}

}  // namespace

TEST_CASE("a Connection header never removes Host or the framing headers", "[http1]") {
  RequestHead head;
  HeadParser parser;
  const std::string bytes =
      "POST /x HTTP/1.1\r\nHost: svc\r\nConnection: host, content-length, transfer-encoding, "
      "x-hop\r\nX-Hop: 1\r\nContent-Length: 3\r\n\r\n";
  REQUIRE(parser.parse_request(bytes, head).status == ParseStatus::kComplete);
  std::string out;
  write_request_head(out, head, Framing{.body = BodyKind::kContentLength, .content_length = 3},
                     "unused");
  CHECK(out == "POST /x HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\n\r\n");
}

TEST_CASE("trailers that frame, route or authenticate are dropped", "[http1]") {
  const std::string trailers = decode_trailers(
      "1\r\na\r\n0\r\nX-Sum: 1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
      "host: evil\r\nTrailer: x\r\nConnection: close\r\nAuthorization: Bearer x\r\n"
      "X-Other: 2\r\n\r\n");
  CHECK(trailers == "X-Sum: 1\r\nX-Other: 2\r\n");
  CHECK(forbidden_in_trailers("Content-Length"));
  CHECK(forbidden_in_trailers("HOST"));
  CHECK_FALSE(forbidden_in_trailers("grpc-status"));
}

TEST_CASE("a response with transfer codings before chunked is relayed with them", "[http1]") {
  ResponseHead head;
  HeadParser parser;
  REQUIRE(parser
              .parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip , chunked\r\n\r\n", "GET",
                              head)
              .status == ParseStatus::kComplete);
  CHECK(head.body == BodyKind::kChunked);
  CHECK(head.transfer_codings == "gzip");
  std::string out;
  write_response_head(out, head, Framing{.body = BodyKind::kChunked}, 1);
  CHECK(out == "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");

  SECTION("plain chunked has no codings") {
    parser.reset();
    REQUIRE(
        parser.parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", head)
            .status == ParseStatus::kComplete);
    CHECK(head.transfer_codings.empty());
  }
  SECTION("chunked twice, or codings after chunked, stay a 502") {
    for (const char* value :
         {"chunked, chunked", "chunked, gzip", "gzip, chunked;x, chunked", "gz ip, chunked"}) {
      INFO(value);
      parser.reset();
      const ParseResult result = parser.parse_response(
          std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: ") + value + "\r\n\r\n", "GET", head);
      CHECK(result.status == ParseStatus::kError);
      CHECK(result.error.status == 502);
    }
  }
  SECTION("a request's other codings stay a 501") {
    parser.reset();
    RequestHead request;
    const ParseResult result = parser.parse_request(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", request);
    CHECK(result.status == ParseStatus::kError);
    CHECK(result.error.status == 501);
  }
}

TEST_CASE("the request path is normalised for routing and the upstream", "[http1]") {
  RequestHead head;
  HeadParser parser;
  REQUIRE(
      parser.parse_request("GET /a//b/./c/../%7Euser%3a?q=/../x HTTP/1.1\r\nHost: h\r\n\r\n", head)
          .status == ParseStatus::kComplete);
  CHECK(head.target == "/a//b/./c/../%7Euser%3a?q=/../x");
  CHECK(head.routed_target() == "/a/b/~user%3A?q=/../x");
  CHECK(head.path() == "/a/b/~user%3A");
  CHECK(head.query() == "q=/../x");
  CHECK(to_request(head).path == "/a/b/~user%3A");
  std::string out;
  write_request_head(out, head, Framing{}, "unused");
  CHECK(out.starts_with("GET /a/b/~user%3A?q=/../x HTTP/1.1\r\n"));

  SECTION("encoded slashes and backslashes are refused with 400") {
    for (const char* target : {"/a%2Fb", "/a%2fb", "/a%5Cb", "/a\\b", "/a%zz", "/a%2"}) {
      INFO(target);
      parser.reset();
      const ParseResult result =
          parser.parse_request(std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n", head);
      CHECK(result.status == ParseStatus::kError);
      CHECK(result.error.status == 400);
    }
  }
  SECTION("a normal path is kept as it is") {
    parser.reset();
    REQUIRE(parser.parse_request("GET /a/b?x HTTP/1.1\r\nHost: h\r\n\r\n", head).status ==
            ParseStatus::kComplete);
    CHECK(head.normalized_target.empty());
    CHECK(head.routed_target() == "/a/b?x");
  }
}
