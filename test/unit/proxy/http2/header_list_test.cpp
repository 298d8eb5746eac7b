#include "proxy/http2/header_list.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../failing_allocation.h"

using namespace weft::proxy::http2;
namespace testing = weft::proxy::testing;

namespace {

std::vector<std::pair<std::string, std::string>> copy_of(const HeaderList& list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : list) out.emplace_back(name, value);
  return out;
}

}  // namespace

TEST_CASE("a header list keeps its fields in order, past its first reservation", "[http2]") {
  HeaderList list;
  CHECK(list.empty());
  list.add(":status", "200");
  list.add("content-type", "text/plain");
  list.add("", "");  // (an empty field is kept as one)
  // More fields and bytes than reserved first: the buffer grows and moves.
  const std::string long_value(HeaderList::kFirstBytes * 3, 'v');
  for (std::size_t i = 0; i < 32; ++i) {
    list.add("x-" + std::to_string(i), long_value);
  }
  REQUIRE(list.count() == 3 + 32);
  const auto fields = copy_of(list);
  CHECK(fields[0] == std::pair<std::string, std::string>{":status", "200"});
  CHECK(fields[1] == std::pair<std::string, std::string>{"content-type", "text/plain"});
  CHECK(fields[2] == std::pair<std::string, std::string>{"", ""});
  CHECK(fields.back() == std::pair<std::string, std::string>{"x-31", long_value});
  CHECK(list.find("content-type") == "text/plain");
  CHECK(list.find("x-7") == long_value);
  CHECK(list.find("absent").empty());
  // RFC 9113's size: names, values and 32 per field.
  std::size_t size = 0;
  for (const auto& [name, value] : fields) size += name.size() + value.size() + 32;
  CHECK(list.size == size);
}

TEST_CASE("a header list moved or cleared stays consistent", "[http2]") {
  HeaderList list;
  list.add("grpc-status", "0");
  list.add("grpc-message", "ok");
  HeaderList moved = std::move(list);
  CHECK(moved.find("grpc-message") == "ok");
  CHECK(moved.count() == 2);
  moved.clear();
  CHECK(moved.empty());
  CHECK(moved.size == 0);
  CHECK(moved.find("grpc-status").empty());
  moved.add(":status", "204");
  CHECK(copy_of(moved) == std::vector<std::pair<std::string, std::string>>{{":status", "204"}});
}

TEST_CASE("nghttp2's views of a header list point into it, inline or not", "[http2]") {
  for (const std::size_t count : {std::size_t{0}, std::size_t{3}, NvArray::kInline,
                                  NvArray::kInline + 1, NvArray::kInline * 3}) {
    HeaderList list;
    for (std::size_t i = 0; i < count; ++i) list.add("n" + std::to_string(i), std::to_string(i));
    const NvArray nv = to_nv(list);
    REQUIRE(nv.size() == count);
    std::size_t i = 0;
    for (const auto& [name, value] : list) {
      const nghttp2_nv& field = nv.data()[i++];
      CHECK(std::string_view(reinterpret_cast<const char*>(field.name), field.namelen) == name);
      CHECK(std::string_view(reinterpret_cast<const char*>(field.value), field.valuelen) == value);
      CHECK(field.flags == NGHTTP2_NV_FLAG_NONE);
    }
  }
}

// The point of the layout: the codec copies four blocks per proxied request.
TEST_CASE("a usual header block takes one allocation, and its nghttp2 views none", "[http2]") {
  HeaderList list;
  // Any second allocation, whatever its size, throws.
  testing::fail_allocation(0, 1);
  list.add(":method", "POST");
  list.add(":scheme", "http");
  list.add(":authority", "checkout.shop.svc.cluster.local:8080");
  list.add(":path", "/weft.sample.v1.Echo/Echo");
  list.add("content-type", "application/grpc");
  list.add("user-agent", "grpc-go/1.60.1");
  list.add("te", "trailers");
  list.add("grpc-timeout", "999m");
  list.add("x-request-id", "0f8c1e6a-3b7d-4c2e-9a51-7d2b6c4e8f10");
  list.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK_FALSE(testing::allocation_failed());
  testing::disarm_allocation_failure();
  REQUIRE(list.count() == 10);

  testing::fail_allocation(0, 0);  // the first allocation throws
  {
    const NvArray nv = to_nv(list);
    CHECK(nv.size() == 10);
  }
  CHECK_FALSE(testing::allocation_failed());
  testing::disarm_allocation_failure();
}

TEST_CASE("a header block's first buffer is recycled on its thread", "[http2]") {
  {
    HeaderList first;
    first.add(":status", "200");
  }
  HeaderList second;
  testing::fail_allocation(0, 0);  // the next allocation throws
  second.add(":status", "204");    // from the block the first list freed
  CHECK_FALSE(testing::allocation_failed());
  testing::disarm_allocation_failure();
  CHECK(second.find(":status") == "204");
}
