#pragma once

// What a ServiceAccount token says of itself, read before it costs a
// TokenReview. The claims are NOT verified here (the API server does that);
// they only let weft-identity refuse, without asking, a token the API server
// would certainly refuse for this audience: not a JWT, made for another
// audience (the pod's default API token), expired more than a minute ago (a
// stolen old token), or not a ServiceAccount's. A forged token that passes
// still goes to the TokenReview; this only keeps cheap garbage from spending
// the review budget of everyone else.

#include <chrono>
#include <optional>
#include <string_view>

#include "identity/issuance.h"

namespace weft::identity {

// A token larger than this is refused unread (projected tokens are ~1 KiB).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// The refusal (reasons: token_refused, wrong_audience, not_service_account),
// or nullopt when the token is worth a TokenReview.
std::optional<TokenRefusal> precheck_token(std::string_view token,
                                           std::chrono::system_clock::time_point now);

}  // namespace weft::identity
