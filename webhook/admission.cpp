#include "webhook/admission.h"

#include "webhook/base64.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

// Nesting depth of a JSON text, counted without parsing (brackets outside
// strings), so a hostile body cannot make any later recursive walk overflow.
int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// An optional string member: absent or null is "", another type an error.
Result<std::string> optional_string(const json& object, const char* key, const char* where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Error{std::string(where) + key + " must be a string"};
  return it->get<std::string>();
}

}  // namespace

Result<AdmissionRequest> parse_admission_review(std::string_view body) {
  if (body.empty()) return Error{"empty body: expected an AdmissionReview"};
  if (json_depth(body) > kMaxJsonDepth) {
    return Error{"JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
  }
  json document = json::parse(body, nullptr, false);
  if (document.is_discarded()) return Error{"body is not valid JSON"};
  if (!document.is_object()) return Error{"body is not a JSON object"};
  const auto api_version = optional_string(document, "apiVersion", "");
  const auto kind = optional_string(document, "kind", "");
  if (!api_version) return api_version.error();
  if (!kind) return kind.error();
  if (*kind != "AdmissionReview") {
    return Error{"kind is '" + *kind + "', expected AdmissionReview"};
  }
  if (*api_version != "admission.k8s.io/v1") {
    return Error{"apiVersion '" + *api_version +
                 "' is not supported: list admission.k8s.io/v1 in admissionReviewVersions"};
  }
  const auto request_it = document.find("request");
  if (request_it == document.end() || !request_it->is_object()) {
    return Error{"AdmissionReview has no request object"};
  }
  json& request = *request_it;

  AdmissionRequest parsed;
  struct Field {
    const char* key;
    std::string* out;
  };
  for (const auto& [key, out] :
       {Field{"uid", &parsed.uid}, Field{"operation", &parsed.operation},
        Field{"namespace", &parsed.namespace_name}, Field{"name", &parsed.name},
        Field{"subResource", &parsed.sub_resource}}) {
    auto value = optional_string(request, key, "request.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.uid.empty()) return Error{"request.uid is missing"};
  if (parsed.operation.empty()) return Error{"request.operation is missing"};

  const auto kind_it = request.find("kind");
  if (kind_it == request.end() || !kind_it->is_object()) {
    return Error{"request.kind is missing or not an object"};
  }
  for (const auto& [key, out] :
       {Field{"group", &parsed.kind_group}, Field{"version", &parsed.kind_version},
        Field{"kind", &parsed.kind}}) {
    auto value = optional_string(*kind_it, key, "request.kind.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.kind.empty()) return Error{"request.kind.kind is missing"};

  const auto dry_run = request.find("dryRun");
  if (dry_run != request.end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return Error{"request.dryRun must be a boolean"};
    parsed.dry_run = dry_run->get<bool>();
  }
  const auto object = request.find("object");
  if (object != request.end()) parsed.object = std::move(*object);
  return parsed;
}

std::string admission_response(std::string_view uid, const AdmissionOutcome& outcome) {
  json response{{"uid", uid}, {"allowed", outcome.allowed}};
  const bool has_patch = outcome.allowed && outcome.patch.is_array() && !outcome.patch.empty();
  if (has_patch) response["patchType"] = "JSONPatch";
  if (!outcome.warnings.empty()) response["warnings"] = outcome.warnings;
  if (!outcome.allowed) {
    response["status"] = {{"code", outcome.denial_code == 0 ? 403 : outcome.denial_code},
                          {"message", outcome.denial_message}};
  }
  std::string text = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":)";
  text += response.dump(-1, ' ', false, json::error_handler_t::replace);
  if (has_patch) {
    // Spliced in as text: base64 needs no escaping, and the patch is the bulk of
    // the answer, so the serializer is spared a character-by-character pass.
    text.pop_back();  // the response object's '}'
    text += R"(,"patch":")";
    text += base64_encode(outcome.patch.dump(-1, ' ', false, json::error_handler_t::replace));
    text += "\"}";
  }
  text += '}';
  return text;
}

}  // namespace weft::webhook
