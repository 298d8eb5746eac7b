#include "identity/token_precheck.h"

#include <nlohmann/json.hpp>

#include "weft/base64.h"

namespace weft::identity {
namespace {

using nlohmann::json;

// The API server allows no more than this for clock skew on exp.
constexpr std::chrono::seconds kExpiryLeeway{60};

TokenRefusal refused(std::string reason, std::string message) {
  return TokenRefusal{std::move(reason), std::move(message)};
}

bool names_audience(const json& aud) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == kTokenAudience;
  if (!aud.is_array()) return false;
  for (const json& one : aud) {
    if (one.is_string() && one.get_ref<const std::string&>() == kTokenAudience) return true;
  }
  return false;
}

}  // namespace

std::optional<TokenRefusal> precheck_token(std::string_view token,
                                           std::chrono::system_clock::time_point now) {
  if (token.size() > kMaxTokenBytes) {
    return refused("token_refused",
                   "the token is larger than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  // header.payload.signature
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos ||
      second == token.size() - 1) {
    return refused("token_refused", "the token is not a JWT (header.payload.signature)");
  }
  const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload) return refused("token_refused", "the token's payload is not base64url");
  const json claims = json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (claims.is_discarded() || !claims.is_object()) {
    return refused("token_refused", "the token's payload is not a JSON object");
  }
  const auto aud = claims.find("aud");
  if (aud == claims.end() || !names_audience(*aud)) {
    return refused("wrong_audience",
                   "the token is not for the audience " + std::string(kTokenAudience));
  }
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) {
    return refused("token_refused", "the token has no expiry (exp)");
  }
  const double expires = exp->get<double>();
  const double now_seconds =
      std::chrono::duration<double>(now.time_since_epoch()).count() - kExpiryLeeway.count();
  if (expires < now_seconds) return refused("token_refused", "the token has expired");
  const auto sub = claims.find("sub");
  constexpr std::string_view kPrefix = "system:serviceaccount:";
  if (sub == claims.end() || !sub->is_string() ||
      !sub->get_ref<const std::string&>().starts_with(kPrefix)) {
    return refused("not_service_account", "the token is not a service account's");
  }
  return std::nullopt;
}

}  // namespace weft::identity
