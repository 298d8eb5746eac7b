// Feeds every request fixture (fixtures/requests/*.http, format in the README
// there) to the head parser and body decoder, whole, split in two at every
// byte and one byte at a time: each way must give the expected outcome.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "test/fuzz/proxy/fixture_format.h"

namespace {

using namespace weft::proxy::http1;

using weft::test::Fixture;

Fixture load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return weft::test::decode_fixture(path.stem().string(), text.str());
}

struct Outcome {
  std::string status = "incomplete";
  std::string reason;  // why it was refused
  std::string method, target, body, upgrade, trailers, rest;
  bool keep_alive = false;
  bool expect_continue = false;

  bool operator==(const Outcome&) const = default;
};

// Delivers `bytes` in pieces ending at each cut, as a connection would.
Outcome run(const std::string& bytes, const std::vector<std::size_t>& cuts) {
  HeadParser parser;
  BodyDecoder decoder;
  RequestHead head;
  Outcome out;
  std::string buffer;
  bool head_done = false;
  bool body_done = false;
  std::size_t offset = 0;
  std::size_t previous = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (std::size_t end : ends) {
    buffer.append(bytes, previous, end - previous);
    previous = end;
    if (!head_done) {
      const ParseResult result = parser.parse_request(buffer, head);
      if (result.status == ParseStatus::kError) {
        out.status = std::to_string(result.error.status);
        out.reason = result.error.reason;
        return out;
      }
      if (result.status == ParseStatus::kIncomplete) continue;
      head_done = true;
      // Copy now: the views point into `buffer`, which may reallocate.
      out.method = head.method;
      out.target = head.target;
      out.upgrade = head.upgrade_protocol;
      out.keep_alive = head.keep_alive;
      out.expect_continue = head.expect_continue;
      decoder.reset(head.body, head.content_length);
      offset = result.consumed;
    }
    while (!body_done) {
      const BodyDecoder::Step step = decoder.decode(std::string_view(buffer).substr(offset));
      if (step.error.status != 0) {
        out.status = std::to_string(step.error.status);
        out.reason = step.error.reason;
        return out;
      }
      offset += step.consumed;
      out.body += step.data;
      if (step.done) body_done = true;
      if (step.consumed == 0) break;
    }
  }
  if (head_done && body_done) {
    out.status = "ok";
    out.rest = buffer.substr(offset);
    out.trailers = decoder.trailers();
  }
  return out;
}

std::vector<Fixture> all_fixtures() {
  std::vector<Fixture> fixtures;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(WEFT_PROXY_FIXTURES) + "/requests")) {
    if (entry.path().extension() == ".http") fixtures.push_back(load(entry.path()));
  }
  return fixtures;
}

}  // namespace

TEST_CASE("request fixtures give their expected outcome", "[http1][fixtures]") {
  const std::vector<Fixture> fixtures = all_fixtures();
  REQUIRE(fixtures.size() >= 60);
  int smuggling_cases = 0;
  for (const Fixture& fixture : fixtures) {
    INFO("fixture " << fixture.name);
    REQUIRE(fixture.expect.count("expect") == 1);
    const Outcome whole = run(fixture.bytes, {});
    CHECK(whole.status == fixture.expect.at("expect"));
    if (fixture.name.starts_with("smuggle-")) {
      ++smuggling_cases;
      CHECK(whole.status == "400");
    }
    const auto expect = [&](const std::string& key, const std::string& actual) {
      if (fixture.expect.count(key)) CHECK(actual == fixture.expect.at(key));
    };
    expect("reason", whole.reason);

    expect("method", whole.method);
    expect("target", whole.target);
    expect("body", whole.body);
    expect("upgrade", whole.upgrade);
    expect("trailers", whole.trailers);
    expect("keep-alive", whole.keep_alive ? "yes" : "no");
    expect("continue", whole.expect_continue ? "yes" : "no");
    if (whole.status == "ok")
      CHECK(whole.rest == (fixture.expect.count("rest") ? fixture.expect.at("rest") : ""));
  }
  CHECK(smuggling_cases >= 35);
}

TEST_CASE("request fixtures parse the same however the bytes are split", "[http1][fixtures]") {
  for (const Fixture& fixture : all_fixtures()) {
    INFO("fixture " << fixture.name);
    const Outcome whole = run(fixture.bytes, {});
    for (std::size_t cut = 0; cut <= fixture.bytes.size(); ++cut) {
      INFO("split at byte " << cut);
      CHECK(run(fixture.bytes, {cut}) == whole);
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < fixture.bytes.size(); ++i) every_byte.push_back(i);
    CHECK(run(fixture.bytes, every_byte) == whole);
  }
}
