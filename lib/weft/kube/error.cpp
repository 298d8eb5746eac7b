#include "weft/kube/error.h"

#include <fmt/format.h>

namespace weft::kube {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest:
      return "BadRequest";
    case ErrorKind::kUnauthorized:
      return "Unauthorized";
    case ErrorKind::kForbidden:
      return "Forbidden";
    case ErrorKind::kNotFound:
      return "NotFound";
    case ErrorKind::kMethodNotAllowed:
      return "MethodNotAllowed";
    case ErrorKind::kConflict:
      return "Conflict";
    case ErrorKind::kAlreadyExists:
      return "AlreadyExists";
    case ErrorKind::kGone:
      return "Gone";
    case ErrorKind::kInvalid:
      return "Invalid";
    case ErrorKind::kTooManyRequests:
      return "TooManyRequests";
    case ErrorKind::kServerError:
      return "ServerError";
    case ErrorKind::kTimeout:
      return "Timeout";
    case ErrorKind::kTransport:
      return "Transport";
    case ErrorKind::kDecode:
      return "Decode";
    case ErrorKind::kConfig:
      return "Config";
    case ErrorKind::kCancelled:
      return "Cancelled";
    case ErrorKind::kOther:
      return "Other";
  }
  return "Other";
}

namespace {

std::string compose_message(const ApiError& error) {
  std::string out = error.what.empty() ? std::string() : error.what + ": ";
  if (error.http_status != 0) out += fmt::format("{} ", error.http_status);
  out += error.reason.empty() ? std::string(to_string(error.kind)) : error.reason;
  if (!error.detail.empty()) out += ": " + error.detail;
  return out;
}

// The kind from the Status reason first (it is more precise than the code:
// 409 is both Conflict and AlreadyExists), then from the HTTP status.
ErrorKind kind_of(int http_status, std::string_view reason) {
  if (reason == "AlreadyExists") return ErrorKind::kAlreadyExists;
  if (reason == "Conflict") return ErrorKind::kConflict;
  if (reason == "Expired" || reason == "Gone") return ErrorKind::kGone;
  if (reason == "Timeout" || reason == "ServerTimeout") return ErrorKind::kTimeout;
  switch (http_status) {
    case 400:
      return ErrorKind::kBadRequest;
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 405:
      return ErrorKind::kMethodNotAllowed;
    case 409:
      return ErrorKind::kConflict;
    case 410:
      return ErrorKind::kGone;
    case 422:
      return ErrorKind::kInvalid;
    case 429:
      return ErrorKind::kTooManyRequests;
    case 504:
      return ErrorKind::kTimeout;
    default:
      break;
  }
  if (http_status >= 500 && http_status <= 599) return ErrorKind::kServerError;
  return ErrorKind::kOther;
}

}  // namespace

ApiError make_error(ErrorKind kind, std::string what, std::string detail, int http_status,
                    std::string reason) {
  ApiError error;
  error.kind = kind;
  error.what = std::move(what);
  error.detail = std::move(detail);
  error.http_status = http_status;
  error.reason = std::move(reason);
  error.message = compose_message(error);
  return error;
}

ApiError error_from_status(std::string what, const nlohmann::json& status) {
  int code = 0;
  std::string reason;
  std::string detail;
  std::optional<std::chrono::seconds> retry_after;
  if (status.is_object()) {
    if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
      code = it->get<int>();
    }
    if (auto it = status.find("reason"); it != status.end() && it->is_string()) {
      reason = it->get<std::string>();
    }
    if (auto it = status.find("message"); it != status.end() && it->is_string()) {
      detail = it->get<std::string>();
    }
    if (auto details = status.find("details"); details != status.end() && details->is_object()) {
      if (auto it = details->find("retryAfterSeconds");
          it != details->end() && it->is_number_integer() && it->get<long long>() > 0) {
        retry_after = std::chrono::seconds(it->get<long long>());
      }
    }
  }
  ErrorKind kind = kind_of(code, reason);  // before reason is moved from
  ApiError error = make_error(kind, std::move(what), std::move(detail), code, std::move(reason));
  error.retry_after = retry_after;
  error.status = status;
  return error;
}

ApiError error_from_response(std::string what, int http_status, std::string_view body) {
  nlohmann::json status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    // The HTTP status is authoritative; a Status without a code still maps.
    status["code"] = http_status;
    return error_from_status(std::move(what), status);
  }
  // Not a Status (a proxy in between, an HTML error page): keep a bounded excerpt.
  constexpr std::size_t kMaxExcerpt = 200;
  std::string excerpt(body.substr(0, kMaxExcerpt));
  if (body.size() > kMaxExcerpt) excerpt += "...";
  return make_error(kind_of(http_status, {}), std::move(what), std::move(excerpt), http_status);
}

}  // namespace weft::kube
