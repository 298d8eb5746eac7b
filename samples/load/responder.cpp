#include "samples/load/responder.h"

#include <nlohmann/json.hpp>

namespace weft::samples {

namespace {

// Bounds the walk on hostile bodies; a sample chain is a few levels deep.
constexpr int kMaxDepth = 32;

const nlohmann::json* find_service(const nlohmann::json& node, std::string_view service,
                                   int depth) {
  if (depth > kMaxDepth) return nullptr;
  if (node.is_object()) {
    auto name = node.find("name");
    if (name != node.end() && name->is_string() && name->get_ref<const std::string&>() == service) {
      return &node;
    }
  }
  if (node.is_object() || node.is_array()) {
    for (const auto& child : node) {
      if (const auto* found = find_service(child, service, depth + 1)) return found;
    }
  }
  return nullptr;
}

std::optional<std::string> string_field(const nlohmann::json& object, const char* key) {
  auto field = object.find(key);
  if (field == object.end() || !field->is_string() ||
      field->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  return field->get<std::string>();
}

}  // namespace

Responder find_responder(std::string_view body, std::string_view service) {
  const auto document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return {};
  const nlohmann::json* answer = service.empty() ? &document : find_service(document, service, 0);
  if (answer == nullptr || !answer->is_object()) return {};
  return {string_field(*answer, "version"), string_field(*answer, "pod")};
}

}  // namespace weft::samples
