#include "identity/token_review.h"

namespace weft::identity {

using nlohmann::json;

json token_review_request(std::string_view token) {
  return {{"apiVersion", "authentication.k8s.io/v1"},
          {"kind", "TokenReview"},
          {"spec", {{"token", token}, {"audiences", {kTokenAudience}}}}};
}

Result<TokenReviewAnswer> parse_token_review(const json& review) {
  if (!review.is_object()) return Error{"the TokenReview answer is not an object"};
  const auto status = review.find("status");
  if (status == review.end() || !status->is_object()) {
    return Error{"the TokenReview answer has no status"};
  }
  TokenReviewAnswer answer;
  const auto authenticated = status->find("authenticated");
  answer.authenticated =
      authenticated != status->end() && authenticated->is_boolean() && authenticated->get<bool>();
  if (const auto error = status->find("error"); error != status->end() && error->is_string()) {
    answer.error = error->get<std::string>();
  }
  if (const auto audiences = status->find("audiences");
      audiences != status->end() && audiences->is_array()) {
    for (const auto& audience : *audiences) {
      if (audience.is_string()) answer.audiences.push_back(audience.get<std::string>());
    }
  }
  if (const auto user = status->find("user"); user != status->end() && user->is_object()) {
    if (const auto name = user->find("username"); name != user->end() && name->is_string()) {
      answer.username = name->get<std::string>();
    }
  }
  return answer;
}

}  // namespace weft::identity
