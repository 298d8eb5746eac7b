#pragma once

// The TokenReview exchange with the API server, as JSON (pure: the HTTP call
// is in cluster.cpp).

#include <nlohmann/json.hpp>
#include <string_view>

#include "identity/issuance.h"

namespace weft::identity {

inline constexpr std::string_view kTokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";

// A TokenReview for the token, asking for the audience identity.weft.io.
nlohmann::json token_review_request(std::string_view token);

// The answer's status. An answer that is not a TokenReview with a status is
// an error (a failure to review, not a refusal).
Result<TokenReviewAnswer> parse_token_review(const nlohmann::json& review);

}  // namespace weft::identity
