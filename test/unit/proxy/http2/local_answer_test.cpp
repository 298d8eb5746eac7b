#include "proxy/http2/local_answer.h"

#include <catch2/catch.hpp>

using namespace weft::proxy::http2;

TEST_CASE("a local answer to an HTTP client has a status and a text body", "[http2]") {
  const LocalResponse answer = local_response(503, "no endpoint available", false, false);
  CHECK(answer.head.find(":status") == "503");
  CHECK(answer.body == "no endpoint available\n");
  CHECK(answer.head.find("content-length") == "22");
  CHECK(local_response(404, "no route", false, true).body.empty());  // HEAD
  CHECK(local_response(429, "slow down", false, false, 3).head.find("retry-after") == "3");
}

TEST_CASE("a local answer to a gRPC client is trailers-only with a grpc-status", "[http2][grpc]") {
  const auto status_of = [](int http) {
    return std::string(local_response(http, "why", true, false).head.find("grpc-status"));
  };
  const LocalResponse answer = local_response(504, "deadline: 100%", true, false);
  CHECK(answer.head.find(":status") == "200");
  CHECK(answer.head.find("content-type") == "application/grpc");
  CHECK(answer.head.find("grpc-status") == "4");
  CHECK(answer.head.find("grpc-message") == "deadline: 100%25");
  CHECK(answer.body.empty());
  CHECK(status_of(503) == "14");
  CHECK(status_of(502) == "14");
  CHECK(status_of(404) == "12");
  CHECK(status_of(403) == "7");
  CHECK(status_of(429) == "8");
}

TEST_CASE("grpc-message is percent-encoded", "[http2][grpc]") {
  CHECK(grpc_message("plain text") == "plain text");
  CHECK(grpc_message("a\r\nb") == "a%0D%0Ab");
  CHECK(grpc_message("\xc3\xa9") == "%C3%A9");
}
