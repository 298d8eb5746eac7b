#include "proxy/layers/admission.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

TEST_CASE("CONNECT is refused with 501; other methods go on", "[admission]") {
  Request connect;
  connect.method = "CONNECT";
  connect.authority = "example.com:443";
  const auto refused = admit(connect);
  REQUIRE(refused);
  CHECK(refused->status == 501);
  for (const char* method : {"GET", "POST", "HEAD", "OPTIONS", "DELETE"}) {
    Request request;
    request.method = method;
    request.path = "/";
    CHECK_FALSE(admit(request));
  }
}
