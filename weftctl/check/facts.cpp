#include "weftctl/check/facts.h"

#include "weft/base64.h"
#include "weftctl/json_depth.h"

namespace weft::ctl::check {

std::string Answer::describe() const {
  if (status == 0) return error.empty() ? "no answer" : error;
  std::string text = "HTTP " + std::to_string(status);
  // A Status object (the API server's errors) says what went wrong.
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    text += ": " + body["message"].get<std::string>();
  }
  return text;
}

Answer answer_of(const Result<kube::RawResponse>& response) {
  Answer answer;
  if (!response) {
    answer.error = response.error().message;
    return answer;
  }
  // A pod's answer too (the pod proxy): too deep a body would crash a copy.
  if (!json_depth_within(response->body)) {
    answer.error = "HTTP " + std::to_string(response->status) + ": the answer nests deeper than " +
                   std::to_string(kMaxDocumentDepth) + " levels";
    return answer;
  }
  answer.status = response->status;
  answer.body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (answer.body.is_discarded()) answer.body = nullptr;
  return answer;
}

Answer answer_json(int status, nlohmann::json body) {
  Answer answer;
  answer.status = status;
  answer.body = std::move(body);
  return answer;
}

std::string text_at(const nlohmann::json& object, std::string_view pointer) {
  const nlohmann::json::json_pointer where{std::string(pointer)};
  if (!object.is_object() || !object.contains(where)) return "";
  const auto& value = object.at(where);
  return value.is_string() ? value.get<std::string>() : "";
}

std::string secret_value(const nlohmann::json& secret, std::string_view key) {
  if (!secret.is_object() || !secret.contains("data") || !secret["data"].is_object()) return "";
  const auto& data = secret["data"];
  const auto found = data.find(std::string(key));
  if (found == data.end() || !found->is_string()) return "";
  return base64_decode(found->get<std::string>()).value_or("");
}

const nlohmann::json& list_items(const Answer& answer) {
  static const nlohmann::json kNone = nlohmann::json::array();
  if (!answer.found() || !answer.body.is_object()) return kNone;
  const auto found = answer.body.find("items");
  return found != answer.body.end() && found->is_array() ? *found : kNone;
}

}  // namespace weft::ctl::check
