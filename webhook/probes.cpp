#include "webhook/probes.h"

#include <algorithm>
#include <array>
#include <optional>

#include "weft/constants.h"
#include "weft/result.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// httpGet.port: a number, or a name looked up in the container's ports (as
// the kubelet does).
Result<std::uint16_t> probe_port(const json& port, const json& container) {
  if (port.is_number_integer()) {
    const auto number = port.get<std::int64_t>();
    if (number < 1 || number > 65535) {
      return Error{"port " + std::to_string(number) + " is not from 1 to 65535"};
    }
    return static_cast<std::uint16_t>(number);
  }
  if (!port.is_string()) return Error{"port is neither a number nor a name"};
  const std::string& name = port.get_ref<const std::string&>();
  if (const json* ports = member(container, "ports"); ports != nullptr && ports->is_array()) {
    for (const json& entry : *ports) {
      const json* entry_name = member(entry, "name");
      const json* number = member(entry, "containerPort");
      if (entry_name == nullptr || *entry_name != name) continue;
      if (number == nullptr || !number->is_number_integer()) break;
      const auto value = number->get<std::int64_t>();
      if (value < 1 || value > 65535) break;
      return static_cast<std::uint16_t>(value);
    }
  }
  // Only the first 64 bytes of a name that may be anything.
  return Error{"port name '" + name.substr(0, 64) + "' is not one of the container's ports"};
}

// The route of one httpGet, or why it is left out.
Result<ProbeRoute> probe_route(const json& http_get, const json& container) {
  if (!http_get.is_object()) return Error{"httpGet is not an object"};
  if (const json* scheme = member(http_get, "scheme")) {
    if (!scheme->is_string() || *scheme != "HTTP") {
      return Error{
          "scheme " +
          (scheme->is_string() ? scheme->get<std::string>().substr(0, 16) : std::string("?")) +
          " (only plaintext HTTP probes can be told from other clients; an HTTPS "
          "probe is the app's own TLS)"};
    }
  }
  const json* port = member(http_get, "port");
  if (port == nullptr) return Error{"no port"};
  auto number = probe_port(*port, container);
  if (!number) return number.error();
  std::string target = "/";
  if (const json* path = member(http_get, "path")) {
    if (!path->is_string()) return Error{"path is not a string"};
    if (!path->get_ref<const std::string&>().empty()) target = path->get<std::string>();
  }
  if (auto problem = probe_target_problem(target)) return Error{"path: " + *problem};
  return ProbeRoute{*number, std::move(target)};
}

// The reasons kept: a pod of many containers gets a few lines and a count.
void skip(ProbeScan& scan, std::string reason) {
  if (scan.skipped.size() < kMaxProbeSkipReasons) {
    scan.skipped.push_back(std::move(reason));
  } else {
    ++scan.more_skipped;
  }
}

void scan_containers(const json* list, std::string_view where, ProbeScan& scan) {
  if (list == nullptr || !list->is_array()) return;
  static constexpr std::array<const char*, 3> kProbes = {"livenessProbe", "readinessProbe",
                                                         "startupProbe"};
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& container = (*list)[i];
    const json* name = member(container, "name");
    if (name != nullptr &&
        (*name == std::string(kProxyContainerName) || *name == std::string(kInitContainerName))) {
      continue;  // weft's own: the admin port, never captured
    }
    for (const char* kind : kProbes) {
      const json* probe = member(container, kind);
      const json* http_get = probe != nullptr ? member(*probe, "httpGet") : nullptr;
      if (http_get == nullptr) continue;
      const std::string at = std::string(where) + "[" + std::to_string(i) + "]." + kind;
      auto route = probe_route(*http_get, container);
      if (!route) {
        skip(scan, at + ": " + route.error().message);
        continue;
      }
      if (std::find(scan.routes.begin(), scan.routes.end(), *route) != scan.routes.end()) continue;
      if (scan.routes.size() == kMaxProbeRoutes) {
        skip(scan, at + ": more than " + std::to_string(kMaxProbeRoutes) +
                       " distinct probe routes in the pod");
        continue;
      }
      scan.routes.push_back(std::move(*route));
    }
  }
}

}  // namespace

ProbeScan scan_probes(const json& spec) {
  ProbeScan scan;
  scan_containers(member(spec, "containers"), "spec.containers", scan);
  scan_containers(member(spec, "initContainers"), "spec.initContainers", scan);
  scan.routes = canonical_probe_routes(std::move(scan.routes));
  return scan;
}

}  // namespace weft::webhook
