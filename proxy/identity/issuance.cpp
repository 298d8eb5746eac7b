#include "proxy/identity/issuance.h"

#include <nlohmann/json.hpp>

namespace weft::proxy {
namespace {

constexpr std::size_t kMaxReasonChars = 200;

IssuanceError failure(IssuanceFailure kind, std::string message) {
  IssuanceError error;
  error.message = std::move(message);
  error.kind = kind;
  return error;
}

// A string field of an object, or nullptr.
const std::string* string_field(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

std::string with_newline(std::string text) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

}  // namespace

std::string_view to_string(IssuanceFailure failure) {
  switch (failure) {
    case IssuanceFailure::kNoIdentity:
      return "no_identity";
    case IssuanceFailure::kKey:
      return "key";
    case IssuanceFailure::kToken:
      return "token";
    case IssuanceFailure::kConnect:
      return "connect";
    case IssuanceFailure::kTls:
      return "tls";
    case IssuanceFailure::kTimeout:
      return "timeout";
    case IssuanceFailure::kStatus:
      return "status";
    case IssuanceFailure::kOversize:
      return "oversize";
    case IssuanceFailure::kMalformed:
      return "malformed";
    case IssuanceFailure::kUntrusted:
      return "untrusted";
    case IssuanceFailure::kWrongIdentity:
      return "wrong_identity";
    case IssuanceFailure::kKeyMismatch:
      return "key_mismatch";
  }
  return "malformed";
}

std::string certificate_request_body(std::string_view csr_pem) {
  return nlohmann::json{{"csr", csr_pem}}.dump();
}

Result<Issued, IssuanceError> accept_issued(std::string_view body, std::string_view key_pem,
                                            const identity::WorkloadIdentity& expected,
                                            std::string_view anchors_pem, identity::TimePoint now,
                                            std::size_t max_bytes) {
  using F = IssuanceFailure;
  if (body.size() > max_bytes) {
    return failure(F::kOversize,
                   "the answer is larger than " + std::to_string(max_bytes) + " bytes");
  }
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return failure(F::kMalformed, "the answer is not a JSON object");
  }
  const std::string* certificate = string_field(json, "certificate");
  const std::string* chain = string_field(json, "chain");
  const std::string* named = string_field(json, "identity");
  if (certificate == nullptr || chain == nullptr || named == nullptr) {
    return failure(F::kMalformed, "the answer lacks certificate, chain or identity (strings)");
  }
  // The answer's own "identity" is a convenience; the certificate is what
  // peers will read, so both must name us.
  if (*named != expected.uri()) {
    return failure(F::kWrongIdentity, "the answer names " + named->substr(0, kMaxReasonChars) +
                                          ", expected " + expected.uri());
  }
  const auto certificates = identity::split_certificates(*certificate);
  if (!certificates.has_value() || certificates->size() != 1) {
    return failure(F::kMalformed,
                   "certificate: " + (certificates.has_value() ? std::string("not exactly one")
                                                               : certificates.error().message));
  }
  std::string chain_pem = with_newline(*certificate) + with_newline(*chain);
  const auto verified =
      identity::verify_workload_chain(chain_pem, anchors_pem, expected.trust_domain, now);
  if (!verified.has_value()) {
    return failure(F::kUntrusted, "the chain does not verify: " + verified.error().message);
  }
  if (verified.value() != expected) {
    return failure(F::kWrongIdentity,
                   "the certificate names " + verified->uri() + ", expected " + expected.uri());
  }
  if (const auto matches = identity::check_key_matches(*certificate, key_pem);
      !matches.has_value()) {
    return failure(F::kKeyMismatch,
                   "the certificate is not for the key sent: " + matches.error().message);
  }
  const auto facts = identity::inspect_certificate(*certificate);
  if (!facts.has_value()) return failure(F::kMalformed, "certificate: " + facts.error().message);
  Issued issued;
  issued.credentials.self = expected;
  issued.credentials.chain_pem = std::move(chain_pem);
  issued.credentials.key_pem = std::string(key_pem);
  issued.credentials.anchors_pem = std::string(anchors_pem);
  issued.credentials.not_after = facts->not_after;
  issued.not_before = facts->not_before;
  return issued;
}

std::string issuer_error_text(int status, std::string_view body) {
  std::string text = "status " + std::to_string(status);
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_discarded() && json.is_object()) {
    if (const std::string* reason = string_field(json, "error")) {
      return text + ": " + reason->substr(0, kMaxReasonChars);
    }
  }
  if (!body.empty()) text += ": " + std::string(body.substr(0, kMaxReasonChars));
  return text;
}

}  // namespace weft::proxy
