#include "identity/issuance.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "identity/token_precheck.h"
#include "weft/identity/x509.h"
#include "weft/log.h"

namespace weft::identity {
namespace {

using nlohmann::json;

IssuanceOutcome no_issuer(LeafSigner* signer, std::string_view unavailable) {
  if (signer == nullptr) {
    return refusal_outcome(503, "no_issuer", "cannot issue now: " + std::string(unavailable));
  }
  // The issuer in hand may have ended while the API server could not be read
  // (no newer one known).
  return refusal_outcome(503, "no_issuer", "cannot issue now: the issuer has expired");
}

bool can_sign(LeafSigner* signer, std::chrono::system_clock::time_point now) {
  return signer != nullptr && now < signer->not_after();
}

}  // namespace

IssuanceOutcome refusal_outcome(int status, std::string reason, std::string message) {
  IssuanceOutcome outcome;
  outcome.status = status;
  outcome.reason = std::move(reason);
  outcome.body = json{{"error", message}}.dump();
  outcome.detail = std::move(message);
  return outcome;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  // The scheme is case-insensitive (RFC 9110 section 11.1).
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string_view::npos) {
    return std::nullopt;
  }
  return token;
}

Result<std::string> parse_certificate_request(std::string_view body, std::size_t max_csr_bytes) {
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) {
    return Error{"the body must be a JSON object {\"csr\": \"<PEM>\"}"};
  }
  const auto csr = request.find("csr");
  if (csr == request.end() || !csr->is_string() || csr->get_ref<const std::string&>().empty()) {
    return Error{"the body has no \"csr\" string"};
  }
  const auto& text = csr->get_ref<const std::string&>();
  if (text.size() > max_csr_bytes) {
    return Error{"the CSR is " + std::to_string(text.size()) + " bytes, more than " +
                 std::to_string(max_csr_bytes)};
  }
  return text;
}

Result<WorkloadIdentity, TokenRefusal> identity_from_review(const TokenReviewAnswer& answer,
                                                            std::string_view trust_domain) {
  if (!answer.authenticated) {
    return TokenRefusal{"token_refused",
                        "the API server refused the token" +
                            (answer.error.empty() ? std::string() : ": " + answer.error)};
  }
  // The API server only authenticates a token for one of the audiences asked,
  // and says which; check it anyway rather than trust an empty list.
  if (std::find(answer.audiences.begin(), answer.audiences.end(), kTokenAudience) ==
      answer.audiences.end()) {
    return TokenRefusal{"wrong_audience",
                        "the token is not for the audience " + std::string(kTokenAudience)};
  }
  auto identity = identity_from_username(trust_domain, answer.username);
  if (!identity) {
    return TokenRefusal{"not_service_account",
                        "the token is not a service account's (" + answer.username + ")"};
  }
  return *identity;
}

std::variant<IssuanceOutcome, ReviewNeeded> admit_certificate_request(
    std::string_view authorization, std::string_view body, LeafSigner* signer,
    std::string_view unavailable, const IssuanceOptions& options,
    std::chrono::system_clock::time_point now, const std::function<bool()>& review_allowed) {
  const auto token = bearer_token(authorization);
  if (!token) {
    return refusal_outcome(401, "no_token",
                           "an Authorization: Bearer <service account token> is required");
  }
  auto csr = parse_certificate_request(body, options.max_csr_bytes);
  if (!csr) return refusal_outcome(400, "bad_request", csr.error().message);
  // Checked before the TokenReview: no load on the API server while we could
  // not answer anyway.
  if (!can_sign(signer, now)) return no_issuer(signer, unavailable);
  // What can be refused without the API server is, before a TokenReview is
  // spent on it, cheapest first: a token that cannot be for us (microseconds),
  // a source over its budget (paid before the CSR's signature is verified, a
  // quarter of a millisecond, so that a flood from one address costs little
  // CPU either), a bad CSR.
  if (auto refused = precheck_token(*token, now)) {
    return refusal_outcome(401, refused->reason, refused->message);
  }
  if (review_allowed && !review_allowed()) {
    return refusal_outcome(429, "too_many_from_source",
                           "too many certificate requests from this address; retry later");
  }
  if (auto checked = check_certificate_request(*csr); !checked) {
    return refusal_outcome(400, "bad_csr", "bad CSR: " + checked.error().message);
  }
  return ReviewNeeded{std::string(*token), std::move(*csr)};
}

IssuanceOutcome complete_certificate_request(const ReviewNeeded& request,
                                             const Result<TokenReviewAnswer>& answer,
                                             LeafSigner* signer, std::string_view unavailable,
                                             const IssuanceOptions& options,
                                             std::chrono::system_clock::time_point now) {
  if (!answer) {
    auto outcome = refusal_outcome(503, "review_failed", "cannot review the token now");
    outcome.detail = "TokenReview failed: " + answer.error().message;
    return outcome;
  }
  auto identity = identity_from_review(*answer, options.trust_domain);
  if (!identity) {
    auto outcome = refusal_outcome(401, identity.error().reason, identity.error().message);
    outcome.reviewed = true;
    return outcome;
  }
  const std::string uri = identity->uri();
  // The issuer may have gone or ended while the API server was answering.
  if (!can_sign(signer, now)) {
    auto outcome = no_issuer(signer, unavailable);
    outcome.identity = uri;
    outcome.reviewed = true;
    return outcome;
  }
  auto leaf = signer->sign(request.csr, *identity, now);
  if (!leaf) {
    auto outcome = refusal_outcome(400, "bad_csr", "bad CSR: " + leaf.error().message);
    outcome.identity = uri;
    outcome.reviewed = true;
    return outcome;
  }
  IssuanceOutcome outcome;
  outcome.status = 200;
  outcome.reason = "issued";
  outcome.reviewed = true;
  outcome.identity = uri;
  outcome.not_after = format_log_timestamp(leaf->not_after);
  outcome.body = json{{"certificate", leaf->cert_pem},
                      {"chain", signer->chain_pem()},
                      {"identity", uri},
                      {"notAfter", outcome.not_after}}
                     .dump();
  return outcome;
}

IssuanceOutcome issue_certificate(std::string_view authorization, std::string_view body,
                                  TokenReviewer& reviewer, LeafSigner* signer,
                                  std::string_view unavailable, const IssuanceOptions& options,
                                  std::chrono::system_clock::time_point now,
                                  const std::function<bool()>& review_allowed) {
  auto admitted = admit_certificate_request(authorization, body, signer, unavailable, options, now,
                                            review_allowed);
  if (auto* refused = std::get_if<IssuanceOutcome>(&admitted)) return std::move(*refused);
  const auto& needed = std::get<ReviewNeeded>(admitted);
  return complete_certificate_request(needed, reviewer.review(needed.token), signer, unavailable,
                                      options, now);
}

}  // namespace weft::identity
