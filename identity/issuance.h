#pragma once

// One certificate request, from the HTTP request to the answer: the bearer
// token is checked by the API server (TokenReviewer), the CSR by the signer,
// and the leaf names exactly the ServiceAccount the API server vouched for,
// whatever the CSR asks for. Never throws on what the client sends; every
// refusal has an HTTP status, a reason for the client and a metric label.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weft/identity/spiffe_id.h"
#include "weft/result.h"

namespace weft::identity {

// The audience proxies' projected tokens are made for (and the only one accepted).
inline constexpr std::string_view kTokenAudience = "identity.weft.io";

// What the API server said of a token (TokenReview status).
struct TokenReviewAnswer {
  bool authenticated = false;
  std::vector<std::string> audiences;
  std::string username;
  std::string error;  // status.error, when not authenticated
};

// Asks the API server about a token. Errors are failures to get an answer
// (the API server unreachable, refused our own credentials), not refusals.
class TokenReviewer {
 public:
  virtual ~TokenReviewer() = default;
  virtual Result<TokenReviewAnswer> review(std::string_view token) = 0;
};

// Signs leaves with the issuer in use; swapped when the issuer changes.
class LeafSigner {
 public:
  virtual ~LeafSigner() = default;
  struct Leaf {
    std::string cert_pem;
    std::chrono::system_clock::time_point not_after;
  };
  // The leaf for `identity` from the CSR; an error means the CSR is bad.
  virtual Result<Leaf> sign(std::string_view csr_pem, const WorkloadIdentity& identity,
                            std::chrono::system_clock::time_point now) = 0;
  virtual const std::string& chain_pem() const = 0;  // the issuer (and intermediates)
  // The issuer's end: past it, nothing is signed (503, not a CSR's fault).
  virtual std::chrono::system_clock::time_point not_after() const = 0;
};

struct IssuanceOptions {
  std::string trust_domain = std::string(kDefaultTrustDomain);
  std::size_t max_csr_bytes = 8 * 1024;
};

struct IssuanceOutcome {
  int status = 200;
  std::string body;       // JSON
  std::string reason;     // metrics label: "issued" or the refusal's
  std::string detail;     // for the log (never the token)
  std::string identity;   // the SPIFFE ID asked for by the token, when known
  std::string not_after;  // RFC 3339, when issued
  bool reviewed = false;  // a TokenReview was made
  // Sent as Retry-After when positive: a refusal that is over in a moment.
  std::chrono::seconds retry_after{0};
};

// The token of an "Authorization: Bearer <token>" header, or nullopt.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The CSR of a body {"csr": "<PEM>"}, or the reason it is refused.
Result<std::string> parse_certificate_request(std::string_view body, std::size_t max_csr_bytes);

// The identity the answer vouches for, or why the token is refused.
struct TokenRefusal {
  std::string reason;  // metrics label: token_refused, wrong_audience, not_service_account
  std::string message;
};
Result<WorkloadIdentity, TokenRefusal> identity_from_review(const TokenReviewAnswer& answer,
                                                            std::string_view trust_domain);

// A refusal's outcome: the JSON body {"error": message}, the detail for the log.
IssuanceOutcome refusal_outcome(int status, std::string reason, std::string message);

// A request that passed every check made without the API server: what its
// TokenReview and its signing need.
struct ReviewNeeded {
  std::string token;
  std::string csr;
};

// The request up to its TokenReview, cheapest check first: its refusal, or
// the review it needs. `signer` null: no usable issuer (503, with
// `unavailable`). `review_allowed`, when set, is asked just before the
// TokenReview would be (the client's review budget): false is a 429.
std::variant<IssuanceOutcome, ReviewNeeded> admit_certificate_request(
    std::string_view authorization, std::string_view body, LeafSigner* signer,
    std::string_view unavailable, const IssuanceOptions& options,
    std::chrono::system_clock::time_point now, const std::function<bool()>& review_allowed = {});

// The rest, once the API server answered: the identity it vouches for, signed
// by the signer in use now (null: 503, with `unavailable`).
IssuanceOutcome complete_certificate_request(const ReviewNeeded& request,
                                             const Result<TokenReviewAnswer>& answer,
                                             LeafSigner* signer, std::string_view unavailable,
                                             const IssuanceOptions& options,
                                             std::chrono::system_clock::time_point now);

// The whole request, the TokenReview made on this thread.
IssuanceOutcome issue_certificate(std::string_view authorization, std::string_view body,
                                  TokenReviewer& reviewer, LeafSigner* signer,
                                  std::string_view unavailable, const IssuanceOptions& options,
                                  std::chrono::system_clock::time_point now,
                                  const std::function<bool()>& review_allowed = {});

}  // namespace weft::identity
