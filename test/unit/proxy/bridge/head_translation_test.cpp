#include "proxy/bridge/head_translation.h"

#include <catch2/catch.hpp>

#include "proxy/http1/head_parser.h"

using namespace weft::proxy;
using namespace weft::proxy::bridge;

namespace {

// (The parsed head's views point into `bytes`: kept alive by the caller.)
http1::RequestHead parse_request(const std::string& bytes) {
  http1::HeadParser parser;
  http1::RequestHead head;
  REQUIRE(parser.parse_request(bytes, head).status == http1::ParseStatus::kComplete);
  return head;
}

http1::ResponseHead parse_response(const std::string& bytes, std::string_view method = "GET") {
  http1::HeadParser parser;
  http1::ResponseHead head;
  REQUIRE(parser.parse_response(bytes, method, head).status == http1::ParseStatus::kComplete);
  return head;
}

http2::HeaderList block_of(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  http2::HeaderList block;
  for (const auto& [name, value] : fields) block.add(name, value);
  return block;
}

std::size_t count(const http2::HeaderList& list, std::string_view name) {
  std::size_t n = 0;
  for (const auto& [field, value] : list) n += field == name ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("an HTTP/1 request becomes a marked HTTP/2 block", "[bridge]") {
  const std::string bytes =
      "POST /a//b?x=1 HTTP/1.1\r\nHost: web.shop\r\nContent-Length: 5\r\n"
      "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\nTE: gzip, trailers\r\nX-Kept: Yes\r\n"
      "weft-orig-proto: HTTP/9\r\n\r\n";
  const http1::RequestHead head = parse_request(bytes);
  http2::HeaderList out;
  REQUIRE(http1_request_to_http2(head, "10.0.0.1:80", out));
  CHECK(*out.begin() == http2::HeaderList::Field(":method", "POST"));
  CHECK(out.find(":scheme") == "http");
  CHECK(out.find(":authority") == "web.shop");
  CHECK(out.find(":path") == "/a/b?x=1");  // the path routing saw
  CHECK(out.find("x-kept") == "Yes");      // names lower-case, values as sent
  CHECK(out.find("content-length") == "5");
  CHECK(out.find("te") == "trailers");  // the only TE HTTP/2 allows
  for (const std::string_view gone :
       {"host", "connection", "x-hop", "keep-alive", "proxy-connection", "transfer-encoding"}) {
    CHECK(out.find(gone).empty());
  }
  // The client's own marker is replaced by the proxy's, once.
  CHECK(count(out, kOriginalProtocolField) == 1);
  CHECK(out.find(kOriginalProtocolField) == kHttp11);
}

TEST_CASE("chunked, absolute-form and Host-less requests", "[bridge]") {
  http2::HeaderList out;
  const std::string chunked = "PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  http1_request_to_http2(parse_request(chunked), "d", out);
  CHECK(out.find("content-length").empty());  // a streamed body: DATA to END_STREAM
  CHECK(out.find("transfer-encoding").empty());

  const std::string absolute =
      "GET http://web.shop:8080/p?q HTTP/1.1\r\nHost: web.shop:8080\r\n\r\n";
  http1_request_to_http2(parse_request(absolute), "d", out);
  CHECK(out.find(":authority") == "web.shop:8080");
  CHECK(out.find(":path") == "/p?q");

  const std::string bare = "GET http://web.shop HTTP/1.1\r\nHost: web.shop\r\n\r\n";
  http1_request_to_http2(parse_request(bare), "d", out);
  CHECK(out.find(":path") == "/");

  const std::string old = "GET / HTTP/1.0\r\n\r\n";
  http1_request_to_http2(parse_request(old), "10.0.0.1:80", out);
  CHECK(out.find(":authority") == "10.0.0.1:80");

  const std::string star = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  http1_request_to_http2(parse_request(star), "d", out);
  CHECK(out.find(":path") == "*");

  // Targets HTTP/2 cannot carry keep HTTP/1.
  const std::string relative = "GET .// HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK_FALSE(http1_request_to_http2(parse_request(relative), "d", out));
  const std::string no_authority = "GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK_FALSE(http1_request_to_http2(parse_request(no_authority), "d", out));
}

TEST_CASE("a marked HTTP/2 block becomes an HTTP/1.1 request head", "[bridge]") {
  Http1RequestOut out;
  // (out.method views into the block.)
  const http2::HeaderList block = block_of({{":method", "POST"},
                                            {":scheme", "http"},
                                            {":authority", "web"},
                                            {":path", "/x?y=1"},
                                            {"content-length", "3"},
                                            {"cookie", "a=1"},
                                            {"x-a", "b"},
                                            {"cookie", "b=2"},
                                            {"te", "trailers"},
                                            {kOriginalProtocolField, kHttp11}});
  REQUIRE(http2_request_to_http1(block, true, out));
  CHECK(out.method == "POST");
  CHECK(out.body == http1::BodyKind::kContentLength);
  CHECK(out.content_length == 3);
  CHECK(out.head ==
        "POST /x?y=1 HTTP/1.1\r\nHost: web\r\nx-a: b\r\ncookie: a=1; b=2\r\n"
        "Content-Length: 3\r\n\r\n");

  // Without a length, chunked; without a body, no framing at all.
  REQUIRE(http2_request_to_http1(block_of({{":method", "PUT"}, {":path", "/"}}), true, out));
  CHECK(out.body == http1::BodyKind::kChunked);
  CHECK(out.head == "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(http2_request_to_http1(
      block_of({{":method", "GET"}, {":authority", "w"}, {":path", "/"}}), false, out));
  CHECK(out.body == http1::BodyKind::kNone);
  CHECK(out.head == "GET / HTTP/1.1\r\nHost: w\r\n\r\n");
}

TEST_CASE("a block that could split an HTTP/1 head is refused", "[bridge][smuggling]") {
  Http1RequestOut out;
  const auto refused = [&](http2::HeaderList block) {
    return !http2_request_to_http1(block, true, out);
  };
  // (nghttp2 refuses these on receipt already; the translation does not rely on it.)
  CHECK(refused(block_of({{":method", "GET"}, {":path", "/"}, {"x", "a\r\nInjected: 1"}})));
  CHECK(
      refused(block_of({{":method", "GET"}, {":path", "/"}, {"x", std::string_view("a\0b", 3)}})));
  CHECK(refused(block_of({{":method", "GET"}, {":path", "/"}, {"bad name", "v"}})));
  CHECK(refused(block_of({{":method", "GET"}, {":path", "/"}, {"x:y", "v"}})));
  CHECK(refused(block_of({{":method", "GET"}, {":path", "/ HTTP/1.1\r\nX: y"}})));
  CHECK(refused(block_of({{":method", "GET\r\n"}, {":path", "/"}})));
  CHECK(refused(block_of({{":method", "GET"}, {":path", "/"}, {":authority", "a\r\nb"}})));
  CHECK(refused(block_of({{":method", "GET"}})));  // no :path
  // A content-length that is no number, or a list: refused, never guessed.
  CHECK(refused(block_of({{":method", "POST"}, {":path", "/"}, {"content-length", "5, 5"}})));
  CHECK(refused(block_of({{":method", "POST"}, {":path", "/"}, {"content-length", "-1"}})));
  // Framing fields that came in are never copied: the head states its own.
  REQUIRE(http2_request_to_http1(block_of({{":method", "POST"},
                                           {":path", "/"},
                                           {"transfer-encoding", "chunked"},
                                           {"content-length", "4"},
                                           {"connection", "close"},
                                           {"upgrade", "h2c"}}),
                                 true, out));
  CHECK(out.head == "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n");
}

TEST_CASE("an HTTP/1 response becomes an HTTP/2 head", "[bridge]") {
  http2::HeaderList out;
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: x-internal\r\nX-Internal: 1\r\n"
      "Keep-Alive: timeout=5\r\nX-App: Yes\r\n\r\n";
  http1_response_to_http2(parse_response(bytes), out);
  CHECK(*out.begin() == http2::HeaderList::Field(":status", "200"));
  CHECK(out.find("content-length") == "10");
  CHECK(out.find("x-app") == "Yes");
  CHECK(out.find("x-internal").empty());
  CHECK(out.find("keep-alive").empty());
  CHECK(out.find("connection").empty());

  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  http1_response_to_http2(parse_response(chunked), out);
  CHECK(out.find("transfer-encoding").empty());
  CHECK(out.find("content-length").empty());

  // A HEAD's response keeps the entity's length.
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  http1_response_to_http2(parse_response(head, "HEAD"), out);
  CHECK(out.find("content-length") == "1234");
}

TEST_CASE("an HTTP/2 response head becomes the client's HTTP/1 response", "[bridge]") {
  Http1ResponseOut response;
  std::string out;
  REQUIRE(http2_response_to_http1(block_of({{":status", "200"}, {"x-a", "b"}}), {}, response, out));
  CHECK(response.body == http1::BodyKind::kChunked);
  CHECK(out == "HTTP/1.1 200 OK\r\nx-a: b\r\nTransfer-Encoding: chunked\r\n\r\n");

  out.clear();
  REQUIRE(http2_response_to_http1(block_of({{":status", "201"}, {"content-length", "7"}}),
                                  {.keep_alive = false}, response, out));
  CHECK(response.body == http1::BodyKind::kContentLength);
  CHECK(response.close);
  CHECK(out == "HTTP/1.1 201 Created\r\nContent-Length: 7\r\nConnection: close\r\n\r\n");

  // An HTTP/1.0 client: no chunks, the end is the close.
  out.clear();
  REQUIRE(http2_response_to_http1(block_of({{":status", "200"}}), {.client_minor_version = 0},
                                  response, out));
  CHECK(response.body == http1::BodyKind::kUntilClose);
  CHECK(response.close);
  CHECK(out == "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n");

  // Ended with its head: an empty body, stated.
  out.clear();
  REQUIRE(http2_response_to_http1(block_of({{":status", "200"}}), {.end_at_head = true}, response,
                                  out));
  CHECK(response.body == http1::BodyKind::kNone);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("HEAD, 204 and 304 responses have no body", "[bridge]") {
  Http1ResponseOut response;
  std::string out;
  REQUIRE(http2_response_to_http1(block_of({{":status", "200"}, {"content-length", "1234"}}),
                                  {.head_request = true, .end_at_head = true}, response, out));
  CHECK(response.body == http1::BodyKind::kNone);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
  out.clear();
  REQUIRE(http2_response_to_http1(block_of({{":status", "204"}}), {}, response, out));
  CHECK(response.body == http1::BodyKind::kNone);
  CHECK(out == "HTTP/1.1 204 No Content\r\n\r\n");
  out.clear();
  REQUIRE(http2_response_to_http1(block_of({{":status", "304"}, {"etag", "\"v\""}}), {}, response,
                                  out));
  CHECK(out == "HTTP/1.1 304 Not Modified\r\netag: \"v\"\r\n\r\n");
}

TEST_CASE("a response head HTTP/1 cannot carry safely is refused", "[bridge][smuggling]") {
  Http1ResponseOut response;
  std::string out;
  const auto refused = [&](http2::HeaderList head) {
    out.clear();
    return !http2_response_to_http1(head, {}, response, out);
  };
  CHECK(refused(block_of({{"x", "y"}})));  // no :status
  CHECK(refused(block_of({{":status", "20"}})));
  CHECK(refused(block_of({{":status", "2000"}})));
  CHECK(refused(block_of({{":status", "100"}})));  // interim: never a final head
  CHECK(refused(block_of({{":status", "200"}, {"x", "a\r\nSet-Cookie: injected"}})));
  CHECK(refused(block_of({{":status", "200"}, {"x y", "v"}})));
  CHECK(refused(block_of({{":status", "200"}, {"content-length", "1,1"}})));
  // Connection-specific fields from a peer are dropped, not relayed.
  REQUIRE_FALSE(refused(block_of({{":status", "200"},
                                  {"content-length", "2"},
                                  {"transfer-encoding", "chunked"},
                                  {"connection", "close"}})));
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
}

TEST_CASE("trailers cross both ways without the forbidden ones", "[bridge]") {
  http2::HeaderList fields;
  http1_trailers_to_http2("X-Checksum: abc\r\nGrpc-Status: 0\r\nBad Name: x\r\n", fields);
  REQUIRE(fields.count() == 2);
  CHECK(fields.find("x-checksum") == "abc");
  CHECK(fields.find("grpc-status") == "0");

  std::string lines;
  http2_trailers_to_http1(block_of({{"x-checksum", "abc"},
                                    {"content-length", "5"},
                                    {"authorization", "secret"},
                                    {"x-bad", "a\r\nb"},
                                    {":status", "200"}}),
                          lines);
  CHECK(lines == "x-checksum: abc\r\n");
}

TEST_CASE("a head the peer's HTTP/2 would refuse keeps HTTP/1", "[bridge]") {
  const auto carried = [](const std::string& bytes, std::size_t limit = 32 * 1024) {
    http2::HeaderList out;
    return http1_request_to_http2(parse_request(bytes), "d", out) &&
           acceptable_as_http2(out, limit);
  };
  CHECK(carried("GET /a HTTP/1.1\r\nHost: web:8080\r\nX-A: b c\r\n\r\n"));
  // HTTP/1 takes these; nghttp2 refuses them in a request it receives.
  CHECK_FALSE(carried("GET /a HTTP/1.1\r\nHost: a b\r\n\r\n"));
  CHECK_FALSE(carried("GET /a HTTP/1.1\r\nHost: a{b}\r\n\r\n"));
  // Under the limit as HTTP/1, over it with HTTP/2's 32 bytes per field.
  std::string fields;
  for (int i = 0; i < 99; ++i)
    fields += "X-F" + std::to_string(i) + ": " + std::string(300, 'v') + "\r\n";
  const std::string big = "GET /a HTTP/1.1\r\nHost: web\r\n" + fields + "\r\n";
  CHECK(big.size() < 32 * 1024);
  CHECK_FALSE(carried(big));
  CHECK(carried(big, 64 * 1024));
}
