#include "webhook/admission.h"

#include "webhook/base64.h"
#include "webhook/json_reader.h"
#include "webhook/json_text.h"
#include "webhook/review_json.h"

namespace weft::webhook {
namespace {

using Kind = JsonReader::Kind;

// Nesting depth of a JSON text, counted without parsing (brackets outside
// strings): tells a body refused for its depth from one refused for its syntax.
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

// A member that must be a string when present; absent or null reads as "".
struct StringMember {
  bool wrong_type = false;
  std::string value;
};

// At the member's value; a repeated key replaces the earlier value.
void read_string_member(JsonReader& reader, StringMember& member) {
  member = {};
  const Kind kind = reader.peek();
  if (kind == Kind::kString) {
    member.value = reader.string();
  } else {
    member.wrong_type = kind != Kind::kNull;
    reader.skip();
  }
}

enum class Shape { kAbsent, kObject, kOther };

struct RequestFields {
  Shape shape = Shape::kAbsent;
  StringMember uid, operation, namespace_name, name, sub_resource;
  Shape kind_shape = Shape::kAbsent;
  StringMember kind_group, kind_version, kind;
  bool dry_run = false;
  bool dry_run_wrong_type = false;
  PodObject object;
};

struct ReviewFields {
  Shape shape = Shape::kAbsent;
  StringMember api_version, kind;
  RequestFields request;
};

// Shape of an object member: kOther (value consumed) unless it is an object,
// which is then entered.
Shape enter_object_member(JsonReader& reader) {
  if (reader.enter_object()) return Shape::kObject;
  reader.skip();
  return Shape::kOther;
}

void read_request_kind(JsonReader& reader, RequestFields& request) {
  request.kind_group = request.kind_version = request.kind = {};
  request.kind_shape = enter_object_member(reader);
  if (request.kind_shape != Shape::kObject) return;
  std::string_view key;
  while (reader.next_key(key)) {
    if (key == "group") {
      read_string_member(reader, request.kind_group);
    } else if (key == "version") {
      read_string_member(reader, request.kind_version);
    } else if (key == "kind") {
      read_string_member(reader, request.kind);
    } else {
      reader.skip();
    }
  }
}

void read_request(JsonReader& reader, RequestFields& request) {
  request = {};
  request.shape = enter_object_member(reader);
  if (request.shape != Shape::kObject) return;
  std::string_view key;
  while (reader.next_key(key)) {
    if (key == "uid") {
      read_string_member(reader, request.uid);
    } else if (key == "operation") {
      read_string_member(reader, request.operation);
    } else if (key == "namespace") {
      read_string_member(reader, request.namespace_name);
    } else if (key == "name") {
      read_string_member(reader, request.name);
    } else if (key == "subResource") {
      read_string_member(reader, request.sub_resource);
    } else if (key == "kind") {
      read_request_kind(reader, request);
    } else if (key == "dryRun") {
      const Kind kind = reader.peek();
      request.dry_run = kind == Kind::kBool && reader.boolean();
      request.dry_run_wrong_type = kind != Kind::kBool && kind != Kind::kNull;
      if (kind != Kind::kBool) reader.skip();
    } else if (key == "object") {
      request.object = read_pod(reader);
    } else {
      reader.skip();
    }
  }
}

// Reads the whole body; false when it is not valid JSON (or too deep).
bool read_review(JsonReader& reader, ReviewFields& review) {
  review.shape = enter_object_member(reader);
  if (review.shape == Shape::kObject) {
    std::string_view key;
    while (reader.next_key(key)) {
      if (key == "apiVersion") {
        read_string_member(reader, review.api_version);
      } else if (key == "kind") {
        read_string_member(reader, review.kind);
      } else if (key == "request") {
        read_request(reader, review.request);
      } else {
        reader.skip();
      }
    }
  }
  return reader.finish();
}

// The checks in the order the DOM-based parser made them, so each bad body gets
// the same answer as before.
Result<AdmissionRequest> check_review(ReviewFields& review) {
  if (review.shape != Shape::kObject) return Error{"body is not a JSON object"};
  if (review.api_version.wrong_type) return Error{"apiVersion must be a string"};
  if (review.kind.wrong_type) return Error{"kind must be a string"};
  if (review.kind.value != "AdmissionReview") {
    return Error{"kind is '" + review.kind.value + "', expected AdmissionReview"};
  }
  if (review.api_version.value != "admission.k8s.io/v1") {
    return Error{"apiVersion '" + review.api_version.value +
                 "' is not supported: list admission.k8s.io/v1 in admissionReviewVersions"};
  }
  RequestFields& request = review.request;
  if (request.shape != Shape::kObject) return Error{"AdmissionReview has no request object"};
  struct Field {
    const char* key;
    StringMember* member;
  };
  for (const auto& [key, member] :
       {Field{"uid", &request.uid}, Field{"operation", &request.operation},
        Field{"namespace", &request.namespace_name}, Field{"name", &request.name},
        Field{"subResource", &request.sub_resource}}) {
    if (member->wrong_type) return Error{std::string("request.") + key + " must be a string"};
  }
  if (request.uid.value.empty()) return Error{"request.uid is missing"};
  if (request.operation.value.empty()) return Error{"request.operation is missing"};
  if (request.kind_shape != Shape::kObject) {
    return Error{"request.kind is missing or not an object"};
  }
  for (const auto& [key, member] :
       {Field{"group", &request.kind_group}, Field{"version", &request.kind_version},
        Field{"kind", &request.kind}}) {
    if (member->wrong_type) return Error{std::string("request.kind.") + key + " must be a string"};
  }
  if (request.kind.value.empty()) return Error{"request.kind.kind is missing"};
  if (request.dry_run_wrong_type) return Error{"request.dryRun must be a boolean"};

  AdmissionRequest parsed;
  parsed.uid = std::move(request.uid.value);
  parsed.kind_group = std::move(request.kind_group.value);
  parsed.kind_version = std::move(request.kind_version.value);
  parsed.kind = std::move(request.kind.value);
  parsed.sub_resource = std::move(request.sub_resource.value);
  parsed.operation = std::move(request.operation.value);
  parsed.namespace_name = std::move(request.namespace_name.value);
  parsed.name = std::move(request.name.value);
  parsed.dry_run = request.dry_run;
  parsed.object = std::move(request.object);
  return parsed;
}

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

Result<AdmissionRequest> parse_admission_review_full_dom(std::string_view body) {
  if (body.empty()) return Error{"empty body: expected an AdmissionReview"};
  if (json_depth(body) > kMaxJsonDepth) {
    return Error{"JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
  }
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (document.is_discarded()) return Error{"body is not valid JSON"};
  return read_admission_review(document);
}

Result<AdmissionRequest> parse_admission_review_reader(std::string_view body) {
  if (body.empty()) return Error{"empty body: expected an AdmissionReview"};
  JsonReader reader(body, kMaxJsonDepth);
  ReviewFields review;
  if (!read_review(reader, review)) {
    // Depth first, as a body too deep is refused before its syntax is looked at.
    if (reader.too_deep() || json_depth(body) > kMaxJsonDepth) {
      return Error{"JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    }
    return Error{"body is not valid JSON"};
  }
  return check_review(review);
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
