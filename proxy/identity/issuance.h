#pragma once

// The identity client's side of the issuance protocol (docs/identity.md):
// the request body, and the checks an answer passes before its certificate
// goes into the CredentialStore. Pure apart from OpenSSL's parsing: an answer
// that is too large, not the JSON expected, not chained to the document's
// anchors, for another identity, or for another key is refused with a reason
// (a metric label), and the credentials held stay as they were.

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/identity/credentials.h"
#include "weft/identity/x509.h"
#include "weft/result.h"

namespace weft::proxy {

// Why a request failed; bounded, the `reason` label of
// identity_cert_refresh_failure_total.
enum class IssuanceFailure {
  kNoIdentity,     // namespace or service account unknown, or not valid names
  kKey,            // making the key and CSR failed
  kToken,          // the token file is missing or empty
  kConnect,        // resolving or connecting
  kTls,            // the handshake (the server's certificate refused, ...)
  kTimeout,        // --identity-request-timeout passed
  kStatus,         // the issuer answered an error status
  kOversize,       // the answer passed --identity-max-response-bytes
  kMalformed,      // not HTTP, not JSON, or fields missing
  kUntrusted,      // the chain does not verify against the anchors
  kWrongIdentity,  // the certificate names another identity
  kKeyMismatch,    // the certificate is not for the key sent
};
inline constexpr std::size_t kIssuanceFailureCount = 12;
std::string_view to_string(IssuanceFailure failure);

struct IssuanceError : Error {
  IssuanceFailure kind = IssuanceFailure::kMalformed;
};

// {"csr": "<PEM>"}
std::string certificate_request_body(std::string_view csr_pem);

// An accepted answer: the credentials to store (generation set by the store)
// and the leaf's notBefore, for the renewal time.
struct Issued {
  Credentials credentials;
  identity::TimePoint not_before{};
};

// Checks a 200 answer {"certificate", "chain", "identity", "notAfter"}: at
// most max_bytes, its chain (certificate then chain) verifies against
// `anchors_pem` at `now` for `expected` exactly, and the certificate is for
// `key_pem`.
Result<Issued, IssuanceError> accept_issued(std::string_view body, std::string_view key_pem,
                                            const identity::WorkloadIdentity& expected,
                                            std::string_view anchors_pem, identity::TimePoint now,
                                            std::size_t max_bytes);

// The issuer's reason from an error answer ({"error": "..."}), bounded, for
// the log; the raw start of the body when it is not that JSON.
std::string issuer_error_text(int status, std::string_view body);

}  // namespace weft::proxy
