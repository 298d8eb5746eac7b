// gRPC on values (proxy/request/grpc.h): content types, grpc-status,
// grpc-timeout, the proxy's own answers as statuses, classification.

#include "proxy/request/grpc.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

namespace grpc = weft::proxy::grpc;
using grpc::Status;
using namespace std::chrono_literals;

TEST_CASE("application/grpc alone, with +format or ;parameters, is gRPC", "[grpc]") {
  for (const char* type : {"application/grpc", "application/grpc+proto", "application/grpc+json",
                           "application/grpc;charset=utf-8", "Application/GRPC",
                           "APPLICATION/GRPC+PROTO", "application/grpc+"}) {
    INFO(type);
    CHECK(grpc::is_grpc_content_type(type));
  }
}

TEST_CASE("other content types, and look-alikes, are not gRPC", "[grpc]") {
  for (const char* type :
       {"", "application/json", "application/grp", "application/grpcx", "application/grpc-web",
        "application/grpc-web+proto", "application/grpc web", " application/grpc",
        "text/application/grpc", "application/grpcproto", "application/grp+c"}) {
    INFO(type);
    CHECK_FALSE(grpc::is_grpc_content_type(type));
  }
}

TEST_CASE("grpc-status: every code from 0 to 16 parses to its status", "[grpc]") {
  for (int code = 0; code <= grpc::kMaxStatus; ++code) {
    const std::string text = std::to_string(code);
    INFO(text);
    const auto status = grpc::parse_status(text);
    REQUIRE(status);
    CHECK(static_cast<int>(*status) == code);
    CHECK(grpc::status_text(*status) == text);
  }
  CHECK(grpc::parse_status("14") == Status::kUnavailable);
  CHECK(grpc::parse_status("0") == Status::kOk);
}

TEST_CASE("grpc-status: anything but a plain decimal 0..16 is no status", "[grpc]") {
  for (const char* value : {"", "17", "99", "100", "-1", "+1", "01", "00", "014", " 1", "1 ", "1.0",
                            "0x1", "a", "1a", "١"}) {
    INFO(value);
    CHECK_FALSE(grpc::parse_status(value));
  }
}

TEST_CASE("status names are gRPC's canonical ones", "[grpc]") {
  CHECK(grpc::status_name(Status::kOk) == "OK");
  CHECK(grpc::status_name(Status::kCancelled) == "CANCELLED");
  CHECK(grpc::status_name(Status::kUnknown) == "UNKNOWN");
  CHECK(grpc::status_name(Status::kInvalidArgument) == "INVALID_ARGUMENT");
  CHECK(grpc::status_name(Status::kDeadlineExceeded) == "DEADLINE_EXCEEDED");
  CHECK(grpc::status_name(Status::kNotFound) == "NOT_FOUND");
  CHECK(grpc::status_name(Status::kAlreadyExists) == "ALREADY_EXISTS");
  CHECK(grpc::status_name(Status::kPermissionDenied) == "PERMISSION_DENIED");
  CHECK(grpc::status_name(Status::kResourceExhausted) == "RESOURCE_EXHAUSTED");
  CHECK(grpc::status_name(Status::kFailedPrecondition) == "FAILED_PRECONDITION");
  CHECK(grpc::status_name(Status::kAborted) == "ABORTED");
  CHECK(grpc::status_name(Status::kOutOfRange) == "OUT_OF_RANGE");
  CHECK(grpc::status_name(Status::kUnimplemented) == "UNIMPLEMENTED");
  CHECK(grpc::status_name(Status::kInternal) == "INTERNAL");
  CHECK(grpc::status_name(Status::kUnavailable) == "UNAVAILABLE");
  CHECK(grpc::status_name(Status::kDataLoss) == "DATA_LOSS");
  CHECK(grpc::status_name(Status::kUnauthenticated) == "UNAUTHENTICATED");
}

TEST_CASE("a status cast from outside 0..16 reads as UNKNOWN, never past the tables", "[grpc]") {
  const auto out_of_range = static_cast<Status>(200);
  CHECK(grpc::status_name(out_of_range) == "UNKNOWN");
  CHECK(grpc::status_text(out_of_range) == "2");
}

TEST_CASE("grpc-timeout: each unit", "[grpc]") {
  CHECK(grpc::parse_timeout("2H") == 2h);
  CHECK(grpc::parse_timeout("3M") == 3min);
  CHECK(grpc::parse_timeout("4S") == 4s);
  CHECK(grpc::parse_timeout("250m") == 250ms);
  CHECK(grpc::parse_timeout("7u") == 7us);
  CHECK(grpc::parse_timeout("9n") == 9ns);
  CHECK(grpc::parse_timeout("0m") == 0ns);
  CHECK(grpc::parse_timeout("00000100m") == 100ms);  // leading zeros are digits too
  CHECK(grpc::parse_timeout("99999999n") == 99'999'999ns);
  CHECK(grpc::parse_timeout("99999999S") == std::chrono::seconds(99'999'999));
}

TEST_CASE("grpc-timeout: a malformed value is no deadline", "[grpc]") {
  for (const char* value : {"", "S", "m", "1", "12", "1s", "1h", "1x", "123456789S", "-1S", "+1S",
                            " 1S", "1S ", "1 S", "1.5S", "0x1S", "1SS"}) {
    INFO(value);
    CHECK_FALSE(grpc::parse_timeout(value));
  }
}

TEST_CASE("grpc-timeout: hours that overflow nanoseconds saturate", "[grpc]") {
  // 99999999 hours is about 3.6e23 ns, past what int64 nanoseconds hold.
  CHECK(grpc::parse_timeout("99999999H") == std::chrono::nanoseconds::max());
  // 99999999 minutes (about 6e18 ns) still fits.
  CHECK(grpc::parse_timeout("99999999M") == std::chrono::minutes(99'999'999));
  // The largest that fits is exact: 2562047 hours is below int64's 9.22e18 ns.
  CHECK(grpc::parse_timeout("2562047H") == std::chrono::hours(2'562'047));
  CHECK(grpc::parse_timeout("2562048H") == std::chrono::nanoseconds::max());
}

TEST_CASE("the proxy's own answers read as gRPC statuses", "[grpc]") {
  CHECK(grpc::status_for_local_answer(400) == Status::kInternal);
  CHECK(grpc::status_for_local_answer(401) == Status::kUnauthenticated);
  CHECK(grpc::status_for_local_answer(403) == Status::kPermissionDenied);
  CHECK(grpc::status_for_local_answer(404) == Status::kUnimplemented);
  CHECK(grpc::status_for_local_answer(408) == Status::kDeadlineExceeded);
  CHECK(grpc::status_for_local_answer(504) == Status::kDeadlineExceeded);
  CHECK(grpc::status_for_local_answer(429) == Status::kResourceExhausted);
  CHECK(grpc::status_for_local_answer(502) == Status::kUnavailable);
  CHECK(grpc::status_for_local_answer(503) == Status::kUnavailable);
  for (int other : {0, 200, 405, 413, 431, 500, 501, 505}) {
    INFO(other);
    CHECK(grpc::status_for_local_answer(other) == Status::kUnknown);
  }
}

TEST_CASE("classification: only OK succeeded; no status at all failed", "[grpc]") {
  CHECK_FALSE(grpc::is_failure(Status::kOk));
  CHECK(grpc::is_failure(std::nullopt));
  for (int code = 1; code <= grpc::kMaxStatus; ++code) {
    INFO(code);
    CHECK(grpc::is_failure(static_cast<Status>(code)));
  }
}
