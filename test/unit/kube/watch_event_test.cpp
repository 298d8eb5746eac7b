#include "weft/kube/watch_event.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

using namespace weft::kube;

namespace {

// A captured-style stream: events, a keep-alive blank line, a bookmark, an
// error, and multi-byte UTF-8 (so splits fall inside characters too).
const std::string kStream =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"10"},"data":{"k":"caf\u00e9 ☕"}}})"
    "\n"
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"11"},"data":{"k":"日本"}}})"
    "\n\r\n"
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"12"}}})"
    "\n"
    R"({"type":"DELETED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"13"}}})"
    "\n"
    R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})"
    "\n";

struct Seen {
  WatchEventType type;
  std::string resource_version;
};

const std::vector<Seen> kExpected = {{WatchEventType::kAdded, "10"},
                                     {WatchEventType::kModified, "11"},
                                     {WatchEventType::kBookmark, "12"},
                                     {WatchEventType::kDeleted, "13"},
                                     {WatchEventType::kError, ""}};

bool operator==(const Seen& a, const Seen& b) {
  return a.type == b.type && a.resource_version == b.resource_version;
}

std::string object_rv(const nlohmann::json& object) {
  auto metadata = object.find("metadata");
  return metadata != object.end() && metadata->is_object() ? metadata->value("resourceVersion", "")
                                                           : "";
}

std::vector<Seen> feed_in_chunks(const std::vector<std::string_view>& chunks) {
  WatchStreamParser parser;
  std::vector<Seen> seen;
  for (auto chunk : chunks) {
    auto delivered = parser.feed(chunk, [&](WatchEvent&& event) {
      seen.push_back({event.type, object_rv(event.object)});
      return true;
    });
    REQUIRE(delivered);
  }
  CHECK(parser.pending_bytes() == 0);
  return seen;
}

}  // namespace

TEST_CASE("watch stream split at every single byte boundary gives the same events") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    CAPTURE(cut);
    std::string_view all(kStream);
    auto seen = feed_in_chunks({all.substr(0, cut), all.substr(cut)});
    REQUIRE(seen == kExpected);
  }
}

TEST_CASE("watch stream fed in fixed-size and random chunks gives the same events") {
  std::string_view all(kStream);
  for (std::size_t size = 1; size <= 17; ++size) {
    CAPTURE(size);
    std::vector<std::string_view> chunks;
    for (std::size_t at = 0; at < all.size(); at += size) chunks.push_back(all.substr(at, size));
    REQUIRE(feed_in_chunks(chunks) == kExpected);
  }
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string_view> chunks;
    for (std::size_t at = 0; at < all.size();) {
      std::size_t size = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
      chunks.push_back(all.substr(at, size));
      at += size;
    }
    REQUIRE(feed_in_chunks(chunks) == kExpected);
  }
}

TEST_CASE("event payloads survive parsing intact") {
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  REQUIRE(parser.feed(kStream, [&](WatchEvent&& e) {
    events.push_back(std::move(e));
    return true;
  }));
  REQUIRE(events.size() == 5);
  CHECK(events[0].object["data"]["k"] == "caf\u00e9 \u2615");
  CHECK(events[1].object["data"]["k"] == "\u65e5\u672c");
  CHECK(events[4].object["reason"] == "Expired");
  CHECK(to_string(events[2].type) == "BOOKMARK");
}

TEST_CASE("an incomplete last line waits for more bytes") {
  WatchStreamParser parser;
  int count = 0;
  auto on_event = [&](WatchEvent&&) {
    ++count;
    return true;
  };
  REQUIRE(*parser.feed(R"({"type":"ADDED","object":{}})", on_event) == 0);
  CHECK(parser.pending_bytes() > 0);
  REQUIRE(*parser.feed("\n", on_event) == 1);
  CHECK(count == 1);
}

TEST_CASE("malformed lines are decode errors, not exceptions") {
  auto bad = GENERATE(as<std::string>{}, "not json\n", "[1,2]\n",
                      R"({"object":{}})"
                      "\n",
                      R"({"type":"ADDED"})"
                      "\n",
                      R"({"type":"ADDED","object":"x"})"
                      "\n",
                      R"({"type":"RENAMED","object":{}})"
                      "\n",
                      "{\"type\":\"ADDED\",\"obj\xff\n");
  CAPTURE(bad);
  WatchStreamParser parser;
  auto result = parser.feed(bad, [](WatchEvent&&) { return true; });
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::kDecode);
}

TEST_CASE("a line over the size limit is an error and the buffer is dropped") {
  WatchStreamParser parser(64);
  auto first = parser.feed(std::string(60, 'x'), [](WatchEvent&&) { return true; });
  REQUIRE(first);
  auto second = parser.feed(std::string(10, 'x'), [](WatchEvent&&) { return true; });
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error().message, Catch::Contains("longer than 64 bytes"));
  CHECK(parser.pending_bytes() == 0);
}

TEST_CASE("the handler can stop the stream") {
  WatchStreamParser parser;
  int count = 0;
  auto delivered = parser.feed(kStream, [&](WatchEvent&&) { return ++count < 2; });
  REQUIRE(delivered);
  CHECK(*delivered == 2);
  CHECK(parser.stopped());
  CHECK(*parser.feed(kStream, [&](WatchEvent&&) { return true; }) == 0);
}
