#include "review_oracle.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "webhook/admission.h"

namespace weft::test {
namespace {

using nlohmann::json;

// Whether any object of the text repeats a key (the DOM keeps only the last).
class RepeatedKeys : public nlohmann::json_sax<json> {
 public:
  bool found = false;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& key) override {
    found = found || !keys_.back().insert(key).second;
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

// Without recursion: the fuzzer sends 100,000 brackets.
int depth(const json& root) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> todo{{&root, 1}};
  while (!todo.empty()) {
    const auto [value, level] = todo.back();
    todo.pop_back();
    if (!value->is_structured()) continue;
    deepest = std::max(deepest, level);
    for (const auto& child : *value) todo.emplace_back(&child, level + 1);
  }
  return deepest;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::string describe(const webhook::PodObject& object) {
  std::string text = object.opted_out ? "opted out, " : "";
  if (!object.pod) return text + "error '" + object.pod.error().message + "'";
  const auto& pod = *object.pod;
  json views = json::array();
  for (const auto& container : pod.containers) {
    json mounts = json::array();
    for (const auto& mount : container.volume_mounts) {
      mounts.push_back({mount.name, mount.mount_path, mount.canonical});
    }
    views.push_back({container.name, container.init, container.ephemeral,
                     container.run_as_user ? json(*container.run_as_user) : json(nullptr),
                     container.privileged, container.added_capabilities, container.seal_fields,
                     mounts});
  }
  json reserved_volumes = json::array();
  for (const auto& volume : pod.reserved_volumes) {
    reserved_volumes.push_back({volume.name, volume.canonical});
  }
  json facts{{"container_views", views},
             {"run_as_user", pod.run_as_user ? json(*pod.run_as_user) : json(nullptr)},
             {"has_metadata", pod.has_metadata},
             {"has_annotations", pod.has_annotations},
             {"annotations", pod.annotations},
             {"containers", pod.container_names},
             {"init_containers", pod.init_container_names},
             {"has_init_containers", pod.has_init_containers},
             {"volumes", pod.volume_names},
             {"reserved_volumes", reserved_volumes},
             {"has_volumes", pod.has_volumes},
             {"ports", pod.container_ports},
             {"host_network", pod.host_network},
             {"probe_routes", format_probe_routes(pod.probes.routes)},
             {"probes_skipped", pod.probes.skipped},
             {"probes_more_skipped", pod.probes.more_skipped}};
  return text + facts.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string describe(const Result<webhook::AdmissionRequest>& request) {
  if (!request) return "error '" + request.error().message + "'";
  const json fields{
      request->uid,          request->kind_group, request->kind_version,   request->kind,
      request->sub_resource, request->operation,  request->namespace_name, request->name,
      request->dry_run};
  return fields.dump(-1, ' ', false, json::error_handler_t::replace) + " " +
         describe(request->object);
}

}  // namespace

std::string differences_from_whole_parse(std::string_view body) {
  const auto parsed = webhook::parse_admission_review(body);
  const std::string got = describe(parsed);
  if (body.empty()) return parsed ? "an empty body accepted" : "";
  const json whole = json::parse(body, nullptr, false);
  if (whole.is_discarded()) {
    if (!parsed && (contains(got, "not valid JSON") || contains(got, "nested deeper"))) return {};
    return "nlohmann refuses the body, parse_admission_review gives " + got;
  }
  if (depth(whole) > webhook::kMaxJsonDepth) {
    return contains(got, "nested deeper") ? "" : "too deep, but " + got;
  }
  if (!parsed && contains(got, "nested deeper")) return "refused as too deep: " + got;
  if (!parsed && contains(got, "is repeated")) {
    RepeatedKeys repeated;
    json::sax_parse(body, &repeated);
    return repeated.found ? "" : "no key is repeated, but " + got;
  }
  const std::string want = describe(webhook::read_admission_review(whole));
  if (got != want) return "parsed: " + got + "\nwhole:  " + want;
  return {};
}

}  // namespace weft::test
