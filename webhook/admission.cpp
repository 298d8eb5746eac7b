#include "webhook/admission.h"

#include "webhook/json_text.h"
#include "webhook/review_json.h"
#include "weft/base64.h"

namespace weft::webhook {
namespace {

// A member that must be a string when present; absent or null reads as "".
Result<std::string> optional_string(const nlohmann::json& object, const char* key,
                                    const char* where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Error{std::string(where) + key + " must be a string"};
  return it->get<std::string>();
}

}  // namespace

Result<AdmissionRequest> read_admission_review(const nlohmann::json& document) {
  if (!document.is_object()) return Error{"body is not a JSON object"};
  const auto api_version = optional_string(document, "apiVersion", "");
  if (!api_version) return api_version.error();
  const auto kind = optional_string(document, "kind", "");
  if (!kind) return kind.error();
  if (*kind != "AdmissionReview") {
    return Error{"kind is '" + *kind + "', expected AdmissionReview"};
  }
  if (*api_version != "admission.k8s.io/v1") {
    return Error{"apiVersion '" + *api_version +
                 "' is not supported: list admission.k8s.io/v1 in admissionReviewVersions"};
  }
  const auto request = document.find("request");
  if (request == document.end() || !request->is_object()) {
    return Error{"AdmissionReview has no request object"};
  }
  AdmissionRequest parsed;
  struct Field {
    const char* key;
    std::string* out;
  };
  for (const auto& [key, out] :
       {Field{"uid", &parsed.uid}, Field{"operation", &parsed.operation},
        Field{"namespace", &parsed.namespace_name}, Field{"name", &parsed.name},
        Field{"subResource", &parsed.sub_resource}}) {
    auto value = optional_string(*request, key, "request.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.uid.empty()) return Error{"request.uid is missing"};
  if (parsed.operation.empty()) return Error{"request.operation is missing"};
  const auto kind_object = request->find("kind");
  if (kind_object == request->end() || !kind_object->is_object()) {
    return Error{"request.kind is missing or not an object"};
  }
  for (const auto& [key, out] :
       {Field{"group", &parsed.kind_group}, Field{"version", &parsed.kind_version},
        Field{"kind", &parsed.kind}}) {
    auto value = optional_string(*kind_object, key, "request.kind.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.kind.empty()) return Error{"request.kind.kind is missing"};
  const auto dry_run = request->find("dryRun");
  if (dry_run != request->end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return Error{"request.dryRun must be a boolean"};
    parsed.dry_run = dry_run->get<bool>();
  }
  const auto object = request->find("object");
  parsed.object = read_pod(object == request->end() ? nlohmann::json() : *object);
  return parsed;
}

Result<AdmissionRequest> parse_admission_review(std::string_view body) {
  if (body.empty()) return Error{"empty body: expected an AdmissionReview"};
  auto document = parse_review_json(body, kMaxJsonDepth);
  if (!document) return document.error();
  return read_admission_review(*document);
}

std::string admission_response(std::string_view uid, const AdmissionOutcome& outcome) {
  const bool has_patch = outcome.allowed && !outcome.patch.empty();
  std::string text;
  text.reserve(160 + uid.size() + outcome.denial_message.size() + outcome.patch.size() / 3 * 4);
  // Keys in nlohmann's (sorted) order, so the bytes are what its dump() wrote.
  text += R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":)";
  text += outcome.allowed ? "true" : "false";
  if (has_patch) text += R"(,"patchType":"JSONPatch")";
  if (!outcome.allowed) {
    text += R"(,"status":{"code":)";
    text += std::to_string(outcome.denial_code == 0 ? 403 : outcome.denial_code);
    text += R"(,"message":)";
    append_json_string(text, outcome.denial_message);
    text += '}';
  }
  text += R"(,"uid":)";
  append_json_string(text, uid);
  if (!outcome.warnings.empty()) {
    text += R"(,"warnings":[)";
    for (std::size_t i = 0; i < outcome.warnings.size(); ++i) {
      if (i > 0) text += ',';
      append_json_string(text, outcome.warnings[i]);
    }
    text += ']';
  }
  if (has_patch) {
    // base64 needs no escaping.
    text += R"(,"patch":")";
    base64_append(text, outcome.patch);
    text += '"';
  }
  text += "}}";
  return text;
}

}  // namespace weft::webhook
