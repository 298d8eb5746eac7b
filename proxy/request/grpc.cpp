#include "proxy/request/grpc.h"

#include <array>
#include <limits>

namespace weft::proxy::grpc {
namespace {

constexpr std::string_view kGrpcContentType = "application/grpc";

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Indexed by the status's wire value.
constexpr std::array<std::string_view, kMaxStatus + 1> kStatusTexts = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"};
constexpr std::array<std::string_view, kMaxStatus + 1> kStatusNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

// A Status made by a cast from outside 0..16 reads as Unknown rather than
// indexing past the tables.
std::size_t table_index(Status status) {
  const auto value = static_cast<std::size_t>(status);
  return value <= kMaxStatus ? value : static_cast<std::size_t>(Status::kUnknown);
}

// Nanoseconds in one of grpc-timeout's units; 0 for a byte that is no unit.
std::int64_t unit_nanoseconds(char unit) {
  switch (unit) {
    case 'H':
      return 3'600'000'000'000;
    case 'M':
      return 60'000'000'000;
    case 'S':
      return 1'000'000'000;
    case 'm':
      return 1'000'000;
    case 'u':
      return 1'000;
    case 'n':
      return 1;
    default:
      return 0;
  }
}

}  // namespace

bool is_grpc_content_type(std::string_view content_type) {
  if (content_type.size() < kGrpcContentType.size()) return false;
  for (std::size_t i = 0; i < kGrpcContentType.size(); ++i) {
    if (ascii_lower(content_type[i]) != kGrpcContentType[i]) return false;
  }
  if (content_type.size() == kGrpcContentType.size()) return true;
  const char next = content_type[kGrpcContentType.size()];
  return next == '+' || next == ';';
}

std::optional<Status> parse_status(std::string_view value) {
  // At most two digits ("16"), and no leading zero but "0" itself.
  if (value.empty() || value.size() > 2) return std::nullopt;
  if (value.size() == 2 && value[0] == '0') return std::nullopt;
  int number = 0;
  for (char c : value) {
    if (!is_digit(c)) return std::nullopt;
    number = number * 10 + (c - '0');
  }
  if (number > kMaxStatus) return std::nullopt;
  return static_cast<Status>(number);
}

std::string_view status_text(Status status) {
  return kStatusTexts[table_index(status)];
}

std::string_view status_name(Status status) {
  return kStatusNames[table_index(status)];
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
  constexpr std::size_t kMaxDigits = 8;
  if (value.size() < 2 || value.size() > kMaxDigits + 1) return std::nullopt;
  const std::int64_t unit = unit_nanoseconds(value.back());
  if (unit == 0) return std::nullopt;
  std::int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (!is_digit(c)) return std::nullopt;
    amount = amount * 10 + (c - '0');  // 8 digits fit
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (amount > kMax / unit) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(amount * unit);
}

Status status_for_local_answer(int http_status) {
  switch (http_status) {
    case 400:
      return Status::kInternal;
    case 401:
      return Status::kUnauthenticated;
    case 403:
      return Status::kPermissionDenied;
    case 404:
      return Status::kUnimplemented;
    case 408:
    case 504:
      return Status::kDeadlineExceeded;
    case 429:
      return Status::kResourceExhausted;
    case 502:
    case 503:
      return Status::kUnavailable;
    default:
      return Status::kUnknown;
  }
}

bool is_failure(std::optional<Status> status) {
  return !status || *status != Status::kOk;
}

bool is_server_failure(Status status) {
  switch (status) {
    case Status::kUnavailable:
    case Status::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace weft::proxy::grpc
