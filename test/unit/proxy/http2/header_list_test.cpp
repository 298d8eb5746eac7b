#include "proxy/http2/header_list.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace weft::proxy::http2;

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
