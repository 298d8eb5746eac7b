#include "weft/kube/error.h"

#include <catch2/catch.hpp>

using namespace weft::kube;

namespace {
std::string status_json(int code, const char* reason, const char* message) {
  return nlohmann::json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                        {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}
}  // namespace

TEST_CASE("Status answers map to error kinds") {
  struct Case {
    int code;
    const char* reason;
    ErrorKind kind;
  };
  auto c = GENERATE(
      Case{404, "NotFound", ErrorKind::kNotFound}, Case{409, "Conflict", ErrorKind::kConflict},
      Case{409, "AlreadyExists", ErrorKind::kAlreadyExists}, Case{410, "Expired", ErrorKind::kGone},
      Case{410, "Gone", ErrorKind::kGone}, Case{403, "Forbidden", ErrorKind::kForbidden},
      Case{401, "Unauthorized", ErrorKind::kUnauthorized},
      Case{422, "Invalid", ErrorKind::kInvalid},
      Case{429, "TooManyRequests", ErrorKind::kTooManyRequests},
      Case{500, "InternalError", ErrorKind::kServerError},
      Case{504, "Timeout", ErrorKind::kTimeout}, Case{500, "ServerTimeout", ErrorKind::kTimeout},
      Case{400, "BadRequest", ErrorKind::kBadRequest},
      Case{405, "MethodNotAllowed", ErrorKind::kMethodNotAllowed});
  CAPTURE(c.code, c.reason);
  ApiError error = error_from_response("GET /api/v1/namespaces/a/configmaps/b", c.code,
                                       status_json(c.code, c.reason, "the details"));
  CHECK(error.kind == c.kind);
  CHECK(error.http_status == c.code);
  CHECK(error.reason == c.reason);
  CHECK(error.detail == "the details");
  CHECK(error.message == "GET /api/v1/namespaces/a/configmaps/b: " + std::to_string(c.code) + " " +
                             c.reason + ": the details");
  CHECK(error.status["kind"] == "Status");
}

TEST_CASE("non-Status bodies map by HTTP status with a bounded excerpt") {
  ApiError error = error_from_response("GET /x", 503, std::string(1000, 'x'));
  CHECK(error.kind == ErrorKind::kServerError);
  CHECK(error.detail.size() == 203);
  CHECK(error.reason.empty());
  CHECK_THAT(error.message, Catch::StartsWith("GET /x: 503 ServerError: xxx"));

  CHECK(error_from_response("GET /x", 409, "").kind == ErrorKind::kConflict);
  CHECK(error_from_response("GET /x", 418, "{}").kind == ErrorKind::kOther);
  CHECK(error_from_response("GET /x", 410, "<html>").kind == ErrorKind::kGone);
}

TEST_CASE("the HTTP status wins over a Status code") {
  auto body = nlohmann::json{{"kind", "Status"}, {"message", "m"}}.dump();
  ApiError error = error_from_response("GET /x", 404, body);
  CHECK(error.kind == ErrorKind::kNotFound);
  CHECK(error.http_status == 404);
}

TEST_CASE("watch ERROR event objects map like answers, with retryAfterSeconds") {
  auto gone = nlohmann::json::parse(
      R"json({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (20)","reason":"Expired","code":410})json");
  ApiError error = error_from_status("WATCH configmaps", gone);
  CHECK(error.is(ErrorKind::kGone));
  CHECK_THAT(error.message, Catch::Contains("too old resource version"));

  auto throttled = nlohmann::json::parse(
      R"({"kind":"Status","code":429,"reason":"TooManyRequests","details":{"retryAfterSeconds":3}})");
  ApiError slow = error_from_status("GET /x", throttled);
  CHECK(slow.kind == ErrorKind::kTooManyRequests);
  REQUIRE(slow.retry_after);
  CHECK(slow.retry_after->count() == 3);

  ApiError junk = error_from_status("WATCH x", nlohmann::json("not an object"));
  CHECK(junk.kind == ErrorKind::kOther);
}

TEST_CASE("kube::Result converts to weft::Result and guards wrong access") {
  Result<int> failed = make_error(ErrorKind::kNotFound, "GET /a", "gone", 404);
  CHECK(failed.is_error(ErrorKind::kNotFound));
  CHECK_FALSE(failed.is_error(ErrorKind::kConflict));
  weft::Result<int> plain = failed;
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message == "GET /a: 404 NotFound: gone");
  CHECK_THROWS_AS(failed.value(), std::logic_error);
  Result<int> ok = 5;
  CHECK(*ok == 5);
  CHECK_FALSE(ok.is_error(ErrorKind::kNotFound));
  CHECK_THROWS_AS(ok.error(), std::logic_error);
  CHECK(to_string(ErrorKind::kAlreadyExists) == "AlreadyExists");
}
