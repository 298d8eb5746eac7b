#include "proxy/config/configmap_watch_state.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using Kind = ConfigMapWatchState::Step::Kind;

namespace {

ConfigMapWatchState make_state() {
  return ConfigMapWatchState("shop", "weft-proxy-config", "config.json", std::chrono::seconds(290));
}

weft::kube::WatchEvent event(std::string_view line) {
  auto parsed = weft::kube::parse_watch_event(line);
  REQUIRE(parsed.has_value());
  return parsed.value();
}

constexpr std::string_view kAdded =
    R"({"type":"ADDED","object":{"metadata":{"name":"weft-proxy-config","resourceVersion":"100"},
        "data":{"config.json":"{\"version\":1}"}}})";

}  // namespace

TEST_CASE("the first watch starts from the current state, the next ones resume", "[watch]") {
  auto state = make_state();
  CHECK_FALSE(state.resuming());
  CHECK(state.next_target() ==
        "/api/v1/namespaces/shop/configmaps?watch=1&allowWatchBookmarks=true"
        "&fieldSelector=metadata.name%3Dweft-proxy-config&timeoutSeconds=290");
  // The ConfigMap as it is comes first, as a synthetic ADDED.
  const auto step = state.on_event(event(kAdded));
  CHECK(step.kind == Kind::kOffer);
  CHECK(step.text == R"({"version":1})");
  CHECK(state.resuming());
  CHECK(state.next_target() ==
        "/api/v1/namespaces/shop/configmaps?watch=1&allowWatchBookmarks=true"
        "&fieldSelector=metadata.name%3Dweft-proxy-config&timeoutSeconds=290"
        "&resourceVersion=100");
}

TEST_CASE("every event, bookmarks included, moves the resourceVersion", "[watch]") {
  auto state = make_state();
  (void)state.on_event(event(kAdded));
  CHECK(
      state
          .on_event(event(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"120"}}})"))
          .kind == Kind::kNothing);
  CHECK(state.resource_version() == "120");
  const auto modified = state.on_event(event(
      R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"130"},"data":{"config.json":"new"}}})"));
  CHECK(modified.kind == Kind::kOffer);
  CHECK(modified.text == "new");
  CHECK(
      state.on_event(event(R"({"type":"DELETED","object":{"metadata":{"resourceVersion":"140"}}})"))
          .kind == Kind::kDeleted);
  CHECK(state.resource_version() == "140");
}

TEST_CASE("a ConfigMap without the document under its key offers nothing", "[watch]") {
  auto state = make_state();
  CHECK(
      state
          .on_event(event(
              R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"2"},"data":{"other":"x"}}})"))
          .kind == Kind::kNoDocument);
  CHECK(
      state
          .on_event(event(
              R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"3"},"data":{"config.json":5}}})"))
          .kind == Kind::kNoDocument);
}

TEST_CASE("410 Gone, as an event or an HTTP status, starts afresh", "[watch]") {
  auto state = make_state();
  (void)state.on_event(event(kAdded));
  const auto expired = state.on_event(event(
      R"({"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"too old resource version"}})"));
  CHECK(expired.kind == Kind::kRestart);
  CHECK_FALSE(state.resuming());

  (void)state.on_event(event(kAdded));
  const auto gone = state.on_http_error(
      410, R"({"kind":"Status","status":"Failure","reason":"Gone","code":410})");
  CHECK(gone.kind == Kind::kRestart);
  CHECK_FALSE(state.resuming());
}

TEST_CASE("other errors fail the request and keep the resourceVersion", "[watch]") {
  auto state = make_state();
  (void)state.on_event(event(kAdded));
  const auto unauthorized = state.on_http_error(
      401, R"({"kind":"Status","status":"Failure","reason":"Unauthorized","code":401})");
  CHECK(unauthorized.kind == Kind::kFail);
  CHECK_THAT(unauthorized.text, Catch::Contains("401"));
  CHECK(state.resource_version() == "100");
  CHECK(state
            .on_event(
                event(R"({"type":"ERROR","object":{"kind":"Status","code":500,"message":"boom"}})"))
            .kind == Kind::kFail);
  CHECK(state.resource_version() == "100");
}
