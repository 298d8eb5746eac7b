#pragma once

// The edge of the webhook: an AdmissionReview (admission.k8s.io/v1) body parsed
// into a plain struct, and the response written back. Everything inside works on
// these structs only.
//
// The body is parsed by nlohmann::json's SAX interface into a document of only
// the fields below and the parts of the pod the webhook needs (review_json.h),
// then walked (pod.h). The unit tests and the fuzzer check the walk finds the
// same as on the whole document.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "webhook/pod.h"
#include "weft/result.h"

namespace weft::webhook {

struct AdmissionRequest {
  std::string uid;
  std::string kind_group;    // request.kind: "" for core
  std::string kind_version;  // "v1"
  std::string kind;          // "Pod"
  std::string sub_resource;  // "" unless a subresource
  std::string operation;     // CREATE, UPDATE, DELETE, CONNECT
  std::string namespace_name;
  std::string name;  // may be empty (generateName)
  bool dry_run = false;
  PodObject object;  // request.object
};

// Bodies deeper than this are refused before anything walks them (a pod is ~10).
inline constexpr int kMaxJsonDepth = 64;

// A body that is not a v1 AdmissionReview with a request and a uid is an Error:
// answered with HTTP 400, since there is no review to respond to.
Result<AdmissionRequest> parse_admission_review(std::string_view body);
// The same walk over a parsed document (the whole body, or the parts
// parse_review_json keeps).
Result<AdmissionRequest> read_admission_review(const nlohmann::json& document);

// What the webhook decided for one request.
struct AdmissionOutcome {
  bool allowed = true;
  std::string patch;  // a JSON Patch array as JSON text, or empty for none
  std::vector<std::string> warnings;
  int denial_code = 0;  // HTTP-style status code of a denial (400, 403...)
  std::string denial_message;
};

// The AdmissionReview response body for the request's uid.
std::string admission_response(std::string_view uid, const AdmissionOutcome& outcome);

}  // namespace weft::webhook
