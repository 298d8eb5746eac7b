#pragma once

// The webhook's review handling as it was before the one-pass reader: the body
// parsed into an nlohmann::json DOM, the pod walked in it, the patch built as a
// JSON document. Kept here, in the tests, as the oracle: same_as_reference()
// runs a body through both and names the first difference, so every review the
// unit tests and the fuzzer have proves the fast path changed no answer.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "webhook/config.h"
#include "webhook/decision.h"
#include "webhook/mutate.h"
#include "webhook/pod.h"
#include "weft/result.h"

namespace weft::test::dom {

struct Request {
  std::string uid, kind_group, kind_version, kind, sub_resource, operation, namespace_name, name;
  bool dry_run = false;
  nlohmann::json object;  // null when absent
};
Result<Request> parse_admission_review(std::string_view body);
Result<webhook::PodView> read_pod(const nlohmann::json& object);

struct Outcome {
  webhook::ReviewResult result = webhook::ReviewResult::kSkipped;
  std::string reason;
  bool allowed = true;
  nlohmann::json patch;  // null for none
  std::vector<std::string> warnings;
  int denial_code = 0;
  std::string denial_message;
};
Outcome mutate(const Request& request, const webhook::InjectorConfig& config, webhook::Scope scope);
std::string admission_response(std::string_view uid, const Outcome& outcome);

// Empty when parse_admission_review, Injector::mutate (native and classic, both
// scopes) and admission_response give the same answer as the DOM path: the same
// errors, fields and decisions, the patch and the response byte for byte.
// Otherwise what differs.
std::string differences_from_reference(std::string_view body);

}  // namespace weft::test::dom
