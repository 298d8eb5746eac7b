#include "proxy/http2/request_head.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using namespace weft::proxy::http2;

namespace {

RequestHead head_of(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                    bool end_stream = true) {
  RequestHead head;
  for (const auto& [name, value] : fields) head.block.add(name, value);
  head.end_stream = end_stream;
  return head;
}

}  // namespace

TEST_CASE("an HTTP/2 request becomes the neutral Request", "[http2]") {
  const RequestHead head = head_of({{":method", "GET"},
                                    {":scheme", "http"},
                                    {":authority", "web.shop:80"},
                                    {":path", "/a/./b//c?x=1&y"},
                                    {"accept", "*/*"},
                                    {"x-canary", "true"}});
  ConvertedRequest out;
  to_request(head, out);
  REQUIRE(out.refusal.status == 0);
  CHECK(out.request.method == "GET");
  CHECK(out.request.authority == "web.shop:80");
  CHECK(out.request.path == "/a/b/c");  // normalised as HTTP/1's
  CHECK(out.request.query == "x=1&y");
  REQUIRE(out.request.headers.size() == 2);
  CHECK(out.request.headers[1].name == "x-canary");
  CHECK(out.request.body.kind == BodySource::Kind::kNone);
  CHECK_FALSE(out.grpc);
  // Forwarded with the normalised path, every field kept.
  CHECK(out.forwarded.find(":path") == "/a/b/c?x=1&y");
  CHECK(out.forwarded.find(":authority") == "web.shop:80");
  CHECK(out.forwarded.find("accept") == "*/*");
  CHECK(out.forwarded.count() == 6);
}

TEST_CASE("the body's kind comes from END_STREAM and content-length", "[http2]") {
  ConvertedRequest out;
  to_request(head_of({{":method", "POST"}, {":path", "/"}, {"content-length", "12"}}, false), out);
  CHECK(out.request.body.kind == BodySource::Kind::kSized);
  CHECK(out.request.body.length == 12);
  to_request(head_of({{":method", "POST"}, {":path", "/"}}, false), out);
  CHECK(out.request.body.kind == BodySource::Kind::kStreamed);
  to_request(head_of({{":method", "POST"}, {":path", "/"}, {"content-length", "12"}}, true), out);
  CHECK(out.request.body.kind == BodySource::Kind::kNone);
}

TEST_CASE("Host stands in for a missing :authority", "[http2]") {
  ConvertedRequest out;
  const RequestHead with_host = head_of({{":method", "GET"}, {":path", "/"}, {"host", "web:8080"}});
  to_request(with_host, out);
  CHECK(out.request.authority == "web:8080");
  CHECK(out.forwarded.find(":authority") == "web:8080");
  to_request(
      head_of(
          {{":method", "GET"}, {":authority", "Web:8080"}, {":path", "/"}, {"host", "web:8080"}}),
      out);
  CHECK(out.refusal.status == 0);
  to_request(
      head_of({{":method", "GET"}, {":authority", "web"}, {":path", "/"}, {"host", "admin"}}), out);
  CHECK(out.refusal.status == 400);
}

TEST_CASE("requests the proxy refuses before any layer", "[http2]") {
  ConvertedRequest out;
  RequestHead large = head_of({{":method", "GET"}, {":path", "/"}});
  large.too_large = true;
  to_request(large, out);
  CHECK(out.refusal.status == 431);

  to_request(head_of({{":method", "GET"}, {":path", "/a/%2e%2e%2f/admin"}}), out);
  CHECK(out.refusal.status == 400);  // an encoded '/' servers disagree on
  to_request(head_of({{":method", "GET"}, {":path", "http://other/"}}), out);
  CHECK(out.refusal.status == 400);  // absolute form is not HTTP/2's :path
  to_request(head_of({{":method", "GET"}, {":path", "*"}}), out);
  CHECK(out.refusal.status == 400);  // '*' is OPTIONS' only
  to_request(head_of({{":method", "GET"}, {":path", "?a"}}), out);
  CHECK(out.refusal.status == 400);  // only a query: no path to look at
  to_request(head_of({{":method", "OPTIONS"}, {":path", "*"}}), out);
  CHECK(out.refusal.status == 0);
  // CONNECT has no :path: left to the admission layer (501).
  // (The request's views point into the head: it outlives them.)
  const RequestHead connect = head_of({{":method", "CONNECT"}, {":authority", "db:5432"}});
  to_request(connect, out);
  CHECK(out.refusal.status == 0);
  CHECK(out.request.method == "CONNECT");
}

TEST_CASE("gRPC requests and their deadline", "[http2][grpc]") {
  ConvertedRequest out;
  to_request(head_of({{":method", "POST"},
                      {":path", "/shop.Cart/Add"},
                      {"content-type", "application/grpc+proto"},
                      {"grpc-timeout", "250m"}},
                     false),
             out);
  CHECK(out.grpc);
  REQUIRE(out.grpc_timeout);
  CHECK(*out.grpc_timeout == std::chrono::milliseconds(250));
  to_request(head_of({{":method", "POST"},
                      {":path", "/x"},
                      {"content-type", "application/grpc"},
                      {"grpc-timeout", "soon"}},
                     false),
             out);
  CHECK(out.grpc);
  CHECK_FALSE(out.grpc_timeout);  // malformed: no deadline, as gRPC servers do
}
