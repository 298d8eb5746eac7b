#include "samples/app/reply.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace weft::samples;

namespace {

const Identity kApi{"api", "v2", "api-5f7c"};

CallResult answered(int status, std::string body) {
  CallResult result;
  result.status = status;
  result.body = std::move(body);
  result.latency = std::chrono::milliseconds(3);
  return result;
}

}  // namespace

TEST_CASE("reply: identity and embedded downstream answers", "[reply]") {
  const Reply reply = build_reply(
      kApi, false, {{"http://backend/", answered(200, R"({"name":"backend","version":"v1"})")}});
  CHECK(reply.status == 200);
  const auto body = nlohmann::json::parse(reply.body);
  CHECK(body["name"] == "api");
  CHECK(body["version"] == "v2");
  CHECK(body["pod"] == "api-5f7c");
  CHECK(body["status"] == 200);
  REQUIRE(body["downstream"].size() == 1);
  CHECK(body["downstream"][0]["url"] == "http://backend/");
  CHECK(body["downstream"][0]["status"] == 200);
  CHECK(body["downstream"][0]["latency_ms"] == Approx(3));
  CHECK(body["downstream"][0]["body"]["version"] == "v1");
  CHECK(!body.contains("error"));
}

TEST_CASE("reply: an injected failure is a 500 without downstream calls", "[reply]") {
  const Reply reply = build_reply(kApi, true, {});
  CHECK(reply.status == 500);
  const auto body = nlohmann::json::parse(reply.body);
  CHECK(body["error"] == "injected failure");
  CHECK(body["version"] == "v2");  // a failed answer still says who gave it
}

TEST_CASE("reply: a failed downstream makes a 502 that says why", "[reply]") {
  CallResult timeout;
  timeout.failure = CallFailure::kTimeout;
  timeout.error = "The socket was closed due to a timeout";
  const Reply timed_out = build_reply(kApi, false, {{"http://slow/", timeout}});
  CHECK(timed_out.status == 502);
  auto body = nlohmann::json::parse(timed_out.body);
  CHECK(body["downstream"][0]["status"].is_null());
  CHECK(body["downstream"][0]["error"].get<std::string>().starts_with("timeout: "));

  const Reply error_status = build_reply(
      kApi, false,
      {{"http://ok/", answered(200, "{}")}, {"http://broken/", answered(503, "upstream down")}});
  CHECK(error_status.status == 502);
  body = nlohmann::json::parse(error_status.body);
  CHECK(body["downstream"][1]["body"] == "upstream down");  // non-JSON kept as text
}

TEST_CASE("reply: invalid UTF-8 from a downstream does not throw", "[reply]") {
  const Reply reply =
      build_reply(kApi, false, {{"http://odd/", answered(200, std::string("\xff\xfe bytes"))}});
  CHECK(reply.status == 200);
  CHECK(nlohmann::json::parse(reply.body)["downstream"][0]["body"].is_string());
}
