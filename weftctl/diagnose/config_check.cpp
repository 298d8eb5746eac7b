#include "weftctl/diagnose/config_check.h"

#include <fmt/format.h>

#include <ostream>

#include "weft/constants.h"
#include "weftctl/output.h"

namespace weft::ctl::diagnose {

Result<ProxyVersion> parse_proxy_version(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("version") ||
      !json["version"].is_string()) {
    return Error{"the proxy's /version is not {\"version\": ..., \"configHash\": ...}"};
  }
  ProxyVersion version;
  version.version = json["version"].get<std::string>();
  if (json.contains("configHash") && json["configHash"].is_string()) {
    version.config_hash = json["configHash"].get<std::string>();
  }
  return version;
}

ConfigMapDocument read_config_map(const nlohmann::json& config_map) {
  ConfigMapDocument found;
  const std::string key(kProxyConfigKey);
  const auto& data = config_map.contains("data") ? config_map["data"] : nlohmann::json();
  if (data.is_object() && data.contains(key) && data[key].is_string()) {
    found.document = nlohmann::json::parse(data[key].get<std::string>(), nullptr, false);
    if (found.document.is_discarded()) found.document = nullptr;
  }
  const auto annotations = config_map.contains("metadata")
                               ? config_map["metadata"].value("annotations", nlohmann::json())
                               : nlohmann::json();
  const std::string annotation(kProxyConfigHashAnnotation);
  if (annotations.is_object() && annotations.contains(annotation) &&
      annotations[annotation].is_string()) {
    found.hash = annotations[annotation].get<std::string>();
  } else if (found.document.is_object() && found.document.contains("hash") &&
             found.document["hash"].is_string()) {
    found.hash = found.document["hash"].get<std::string>();
  } else {
    found.problem = fmt::format("the ConfigMap has neither the {} annotation nor a document in {}",
                                kProxyConfigHashAnnotation, kProxyConfigKey);
  }
  return found;
}

nlohmann::json config_check_json(const ConfigCheck& check) {
  return {{"namespace", check.ns},
          {"pod", check.pod},
          {"proxyVersion", check.proxy.version},
          {"servedHash", check.proxy.config_hash ? nlohmann::json(*check.proxy.config_hash)
                                                 : nlohmann::json(nullptr)},
          {"configMapHash", check.config_map_hash ? nlohmann::json(*check.config_map_hash)
                                                  : nlohmann::json(nullptr)},
          {"configMapProblem", check.config_map_problem.empty()
                                   ? nlohmann::json(nullptr)
                                   : nlohmann::json(check.config_map_problem)},
          {"matches", check.matches()},
          {"document", check.document}};
}

void render_config_check(const ConfigCheck& check, bool color, bool show_document,
                         std::ostream& out) {
  // The version and the hash are what the pod answered: any text its author likes.
  out << fmt::format("pod {}/{}: proxy {}\n", check.ns, check.pod,
                     terminal_safe(check.proxy.version));
  if (check.proxy.config_hash) {
    out << mark_ok(color) << " the proxy serves document "
        << terminal_safe(*check.proxy.config_hash) << "\n";
  } else {
    out << mark_fail(color)
        << " the proxy has no document yet: see its log (kubectl logs -c weft-proxy)\n";
  }
  if (!check.config_map_hash) {
    out << mark_warn(color) << " ConfigMap " << kProxyConfigMapName << ": "
        << terminal_safe(check.config_map_problem) << "\n";
  } else if (check.matches()) {
    out << mark_ok(color) << " it is the ConfigMap's document (" << kProxyConfigMapName << ")\n";
  } else {
    out << mark_fail(color) << " the ConfigMap " << kProxyConfigMapName << " holds "
        << terminal_safe(*check.config_map_hash)
        << ": the proxy is stale; a refused document is counted in its "
           "config_reload_total{result=\"refused\"} and named in its log\n";
  }
  if (show_document) {
    if (check.document.is_null()) {
      out << "(the document cannot be shown: " << check.config_map_problem << ")\n";
    } else {
      write_json(out, check.document);
    }
  }
}

}  // namespace weft::ctl::diagnose
