// Head parser limits, response framing rules and the head writer.

#include <catch2/catch.hpp>
#include <string>

#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"

using namespace weft::proxy::http1;

namespace {

ParseResult parse_response(std::string_view bytes, ResponseHead& head,
                           std::string_view method = "GET") {
  HeadParser parser;
  return parser.parse_response(bytes, method, head);
}

}  // namespace

TEST_CASE("a head over the size limit is refused with 431 before it ends", "[http1]") {
  HeadParser parser(Limits{.max_head_bytes = 256});
  RequestHead head;
  std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'a');
  const ParseResult result = parser.parse_request(bytes, head);
  CHECK(result.status == ParseStatus::kError);
  CHECK(result.error.status == 431);
}

TEST_CASE("a head under the size limit is accepted", "[http1]") {
  HeadParser parser(Limits{.max_head_bytes = 256});
  RequestHead head;
  const std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
  const ParseResult result = parser.parse_request(bytes, head);
  REQUIRE(result.status == ParseStatus::kComplete);
  CHECK(result.consumed == bytes.size());
  CHECK(head.find("x").size() == 100);
}

TEST_CASE("more headers than the limit are refused with 431", "[http1]") {
  std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 10; ++i) bytes += "X-" + std::to_string(i) + ": v\r\n";
  bytes += "\r\n";
  RequestHead head;
  HeadParser at_limit(Limits{.max_headers = 11});
  CHECK(at_limit.parse_request(bytes, head).status == ParseStatus::kComplete);
  CHECK(head.headers.size() == 11);
  HeadParser below(Limits{.max_headers = 10});
  const ParseResult result = below.parse_request(bytes, head);
  CHECK(result.status == ParseStatus::kError);
  CHECK(result.error.status == 431);
}

TEST_CASE("path and query are split from the target", "[http1]") {
  RequestHead head;
  HeadParser parser;
  REQUIRE(parser.parse_request("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n", head).status ==
          ParseStatus::kComplete);
  CHECK(head.path() == "/a/b");
  CHECK(head.query() == "x=1&y");
  CHECK(head.host == "h");
}

TEST_CASE("response framing follows RFC 9112 section 6.3", "[http1]") {
  ResponseHead head;
  SECTION("Content-Length") {
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", head).status ==
            ParseStatus::kComplete);
    CHECK(head.status == 200);
    CHECK(head.reason == "OK");
    CHECK(head.body == BodyKind::kContentLength);
    CHECK(head.content_length == 12);
    CHECK(head.keep_alive);
  }
  SECTION("chunked") {
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head).status ==
            ParseStatus::kComplete);
    CHECK(head.body == BodyKind::kChunked);
  }
  SECTION("no framing: read until close, and the connection is not reused") {
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\n\r\n", head).status == ParseStatus::kComplete);
    CHECK(head.body == BodyKind::kUntilClose);
    CHECK_FALSE(head.keep_alive);
  }
  SECTION("204, 304, 1xx and HEAD responses have no body") {
    for (const char* status : {"204 No Content", "304 Not Modified", "100 Continue"}) {
      REQUIRE(
          parse_response(std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 5\r\n\r\n", head)
              .status == ParseStatus::kComplete);
      CHECK(head.body == BodyKind::kNone);
    }
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head, "HEAD").status ==
            ParseStatus::kComplete);
    CHECK(head.body == BodyKind::kNone);
  }
  SECTION("100 Continue is interim, 101 is an upgrade") {
    REQUIRE(parse_response("HTTP/1.1 100 Continue\r\n\r\n", head).status == ParseStatus::kComplete);
    CHECK(head.is_interim());
    REQUIRE(parse_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n\r\n",
                           head)
                .status == ParseStatus::kComplete);
    CHECK_FALSE(head.is_interim());
    CHECK(head.upgrade);
    CHECK(head.upgrade_protocol == "websocket");
  }
  SECTION("an empty reason is accepted, with or without its space") {
    CHECK(parse_response("HTTP/1.1 200 \r\n\r\n", head).status == ParseStatus::kComplete);
    CHECK(parse_response("HTTP/1.1 200\r\n\r\n", head).status == ParseStatus::kComplete);
    CHECK(head.reason.empty());
  }
  SECTION("HTTP/1.0 responses close unless keep-alive") {
    REQUIRE(parse_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", head).status ==
            ParseStatus::kComplete);
    CHECK_FALSE(head.keep_alive);
  }
}

TEST_CASE("malformed responses are a 502", "[http1]") {
  ResponseHead head;
  for (const char* bytes : {
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "HTTP/1.1 2x0 OK\r\n\r\n",
           "HTTP/1.1 099 OK\r\n\r\n",
           "HTTP/2.0 200 OK\r\n\r\n",
           "ICY 200 OK\r\n\r\n",
           "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
       }) {
    INFO(bytes);
    const ParseResult result = parse_response(bytes, head);
    CHECK(result.status == ParseStatus::kError);
    CHECK(result.error.status == 502);
  }
}

TEST_CASE("the request writer drops hop-by-hop headers and writes its own framing", "[http1]") {
  RequestHead head;
  HeadParser parser;
  const std::string bytes =
      "POST /x HTTP/1.1\r\nHost: svc\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: close\r\n"
      "Transfer-Encoding: chunked\r\nX-End: 2\r\n\r\n";
  REQUIRE(parser.parse_request(bytes, head).status == ParseStatus::kComplete);
  std::string out;
  write_request_head(out, head, Framing{.body = BodyKind::kChunked}, "unused");
  CHECK(out == "POST /x HTTP/1.1\r\nHost: svc\r\nX-End: 2\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("hop-by-hop names, in any case, and only they", "[http1]") {
  for (const char* name : {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "Trailer",
                           "upgrade", "Transfer-Encoding", "proxy-authenticate"}) {
    INFO(name);
    CHECK(is_hop_by_hop(name));
  }
  for (const char* name : {"", "t", "tf", "trailers", "upgrades", "User-Agent", "Connectio",
                           "content-length", "proxy-connectioN2", "proxy-authorization"}) {
    INFO(name);
    CHECK_FALSE(is_hop_by_hop(name));
  }
}

TEST_CASE("headers listed by any Connection header are dropped, however many", "[http1]") {
  // Two Connection headers, and more tokens than the writer gathers at once.
  std::string listed;
  std::string headers;
  for (int i = 0; i < 20; ++i) {
    listed += (i == 0 ? "" : ", ") + std::string("X-H") + std::to_string(i);
    headers += "x-h" + std::to_string(i) + ": v\r\n";
  }
  RequestHead head;
  HeadParser parser;
  const std::string bytes = "GET / HTTP/1.1\r\nHost: svc\r\nConnection: X-A\r\nX-A: 1\r\n" +
                            headers + "Connection: " + listed + "\r\nX-End: 2\r\n\r\n";
  REQUIRE(parser.parse_request(bytes, head).status == ParseStatus::kComplete);
  std::string out;
  write_request_head(out, head, Framing{}, "unused");
  CHECK(out == "GET / HTTP/1.1\r\nHost: svc\r\nX-End: 2\r\n\r\n");

  // A few tokens: the gathered path.
  parser.reset();
  REQUIRE(parser
              .parse_request("GET / HTTP/1.1\r\nHost: svc\r\nX-B: 1\r\nConnection: x-b\r\n"
                             "Connection: X-C\r\nX-C: 1\r\nX-D: 1\r\n\r\n",
                             head)
              .status == ParseStatus::kComplete);
  out.clear();
  write_request_head(out, head, Framing{}, "unused");
  CHECK(out == "GET / HTTP/1.1\r\nHost: svc\r\nX-D: 1\r\n\r\n");
}

TEST_CASE("the request writer fills Host for HTTP/1.0 and keeps upgrades", "[http1]") {
  RequestHead head;
  HeadParser parser;
  REQUIRE(parser.parse_request("GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\n", head).status ==
          ParseStatus::kComplete);
  std::string out;
  write_request_head(out, head, Framing{.body = BodyKind::kContentLength, .content_length = 3},
                     "10.0.0.1:80");
  CHECK(out == "GET / HTTP/1.1\r\nHost: 10.0.0.1:80\r\nContent-Length: 3\r\n\r\n");

  parser.reset();
  REQUIRE(parser
              .parse_request("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                             "Upgrade: websocket\r\n\r\n",
                             head)
              .status == ParseStatus::kComplete);
  out.clear();
  write_request_head(out, head, Framing{}, "");
  CHECK(out == "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
}

TEST_CASE("an upgrade to h2c is not taken: the request goes on as plain HTTP/1.1", "[http1]") {
  for (const char* offered : {"h2c", "H2C", "websocket, h2c"}) {
    INFO(offered);
    // The head views this text: it outlives the parse.
    const std::string text = std::string(
                                 "GET /h HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, "
                                 "HTTP2-Settings\r\nUpgrade: ") +
                             offered + "\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
    RequestHead head;
    HeadParser parser;
    REQUIRE(parser.parse_request(text, head).status == ParseStatus::kComplete);
    CHECK_FALSE(head.upgrade);
    std::string out;
    write_request_head(out, head, Framing{}, "");
    CHECK(out == "GET /h HTTP/1.1\r\nHost: h\r\n\r\n");
  }
}

TEST_CASE("the response writer speaks the client's version", "[http1]") {
  ResponseHead head;
  REQUIRE(parse_response("HTTP/1.1 200 OK\r\nServer: s\r\nTransfer-Encoding: chunked\r\n\r\n", head)
              .status == ParseStatus::kComplete);
  std::string out;
  // An HTTP/1.0 client cannot read chunked: the body is sent until close.
  write_response_head(out, head, Framing{.body = BodyKind::kUntilClose, .close = true}, 0);
  CHECK(out == "HTTP/1.0 200 OK\r\nServer: s\r\nConnection: close\r\n\r\n");
  out.clear();
  write_response_head(out, head, Framing{.body = BodyKind::kChunked}, 1);
  CHECK(out == "HTTP/1.1 200 OK\r\nServer: s\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_CASE("local responses carry the status, the reason and a length", "[http1]") {
  std::string out;
  write_local_response(out, 503, "no endpoints", true);
  CHECK(out ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
        "Connection: close\r\n\r\nno endpoints\n");
}

TEST_CASE("a local answer to HEAD has no body; a 429 says when to retry", "[http1]") {
  std::string out;
  write_local_response(out, 403, "forbidden: no", false, {.head_request = true});
  CHECK(out == "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n");
  out.clear();
  write_local_response(out, 429, "rate limit exceeded", false, {.retry_after_seconds = 3});
  CHECK(out ==
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
        "Retry-After: 3\r\n\r\nrate limit exceeded\n");
}

TEST_CASE("chunk encoding round-trips through the decoder", "[http1]") {
  std::string encoded;
  for (std::string_view piece : {"hello", " ", "chunked world"}) {
    write_chunk_header(encoded, piece.size());
    encoded += piece;
    encoded += kChunkEnd;
  }
  write_last_chunk(encoded, "X-Sum: 1\r\n");
  BodyDecoder decoder;
  decoder.reset(BodyKind::kChunked);
  std::string body;
  std::string_view input = encoded;
  while (!decoder.done()) {
    const BodyDecoder::Step step = decoder.decode(input);
    REQUIRE(step.error.status == 0);
    REQUIRE((step.consumed > 0 || step.done));
    body += step.data;
    input.remove_prefix(step.consumed);
  }
  CHECK(body == "hello chunked world");
  CHECK(decoder.trailers() == "X-Sum: 1\r\n");
  CHECK(input.empty());
}

TEST_CASE("a chunk size line longer than the limit is refused", "[http1]") {
  BodyDecoder decoder(Limits{.max_chunk_line_bytes = 64});
  decoder.reset(BodyKind::kChunked);
  const std::string line = "5;" + std::string(100, 'e') + "\r\nhello\r\n0\r\n\r\n";
  const BodyDecoder::Step step = decoder.decode(line);
  CHECK(step.error.status == 400);
}
