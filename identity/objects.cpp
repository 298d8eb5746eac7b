#include "identity/objects.h"

#include "weft/base64.h"

namespace weft::identity {
namespace {

using nlohmann::json;

bool is_managed(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return false;
  const auto labels = metadata->find("labels");
  if (labels == metadata->end() || !labels->is_object()) return false;
  const auto label = labels->find(std::string(kManagedByLabel));
  return label != labels->end() && label->is_string() &&
         label->get<std::string>() == kManagedByValue;
}

std::string resource_version_of(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  const auto version = metadata->find("resourceVersion");
  return version != metadata->end() && version->is_string() ? version->get<std::string>()
                                                            : std::string();
}

StoredObject read(const json& object, bool base64) {
  StoredObject stored;
  if (!object.is_object()) {
    stored.problem = "not an object";
    return stored;
  }
  stored.managed = is_managed(object);
  stored.resource_version = resource_version_of(object);
  const auto data = object.find("data");
  if (data == object.end() || data->is_null()) return stored;  // no data at all: empty
  if (!data->is_object()) {
    stored.problem = "data is not a map";
    return stored;
  }
  for (const auto& [key, value] : data->items()) {
    if (!value.is_string()) {
      stored.problem = "data." + key + " is not a string";
      return stored;
    }
    if (!base64) {
      stored.data[key] = value.get<std::string>();
      continue;
    }
    auto decoded = base64_decode(value.get<std::string>());
    if (!decoded) {
      stored.problem = "data." + key + " is not base64";
      return stored;
    }
    stored.data[key] = std::move(*decoded);
  }
  return stored;
}

json metadata(std::string_view ns, std::string_view name) {
  return {{"name", name},
          {"namespace", ns},
          {"labels", {{std::string(kManagedByLabel), std::string(kManagedByValue)}}}};
}

}  // namespace

std::string StoredObject::value(std::string_view key) const {
  const auto it = data.find(std::string(key));
  return it == data.end() ? std::string() : it->second;
}

StoredObject read_secret(const json& secret) {
  return read(secret, true);
}

StoredObject read_config_map(const json& config_map) {
  return read(config_map, false);
}

json make_secret(std::string_view ns, std::string_view name,
                 const std::map<std::string, std::string>& data) {
  json encoded = json::object();
  for (const auto& [key, value] : data) encoded[key] = base64_encode(value);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", metadata(ns, name)},
          {"type", kTlsSecretType},
          {"data", std::move(encoded)}};
}

json make_config_map(std::string_view ns, std::string_view name,
                     const std::map<std::string, std::string>& data) {
  json text = json::object();
  for (const auto& [key, value] : data) text[key] = value;
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", metadata(ns, name)},
          {"data", std::move(text)}};
}

}  // namespace weft::identity
