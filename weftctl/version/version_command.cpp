#include "weftctl/version/version_command.h"

#include <algorithm>
#include <ostream>

#include "weft/constants.h"
#include "weft/flags.h"
#include "weftctl/check/install_layout.h"
#include "weftctl/output.h"
#include "weftctl/version/component_version.h"

namespace weft::ctl {

namespace {

struct VersionOptions {
  bool client_only = false;
};

const flags::Program<VersionOptions> kProgram{
    .usage = "Usage: weftctl version [--client] [-o table|json|yaml]",
    .about =
        "Prints weftctl's version and, from the cluster, the API server's, each control-plane\n"
        "component's (its pods' version label, else their image tag) and the proxy version\n"
        "the webhook injects. Also `weftctl --version`.",
    .flags = {flags::boolean("client", &VersionOptions::client_only,
                             "weftctl's own version only (no cluster needed)")}};

// The webhook's configuration (ConfigMap weft-webhook-config, config.json):
// the proxyVersion it records on what it injects.
std::string injected_proxy_version(const check::Answer& config_map) {
  if (!config_map.found()) return "";
  const auto config = nlohmann::json::parse(check::text_at(config_map.body, "/data/config.json"),
                                            nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return "";
  return config.value("proxyVersion", "");
}

std::string joined(const nlohmann::json& versions) {
  std::string text;
  for (const auto& version : versions) {
    text += (text.empty() ? "" : ", ") + version.get<std::string>();
  }
  return text;
}

}  // namespace

nlohmann::json gather_versions(check::ClusterReader& reader) {
  nlohmann::json versions = {{"client", client_version()}};
  const check::Answer server = reader.get("/version");
  if (!server.found()) {
    versions["error"] = "the API server: " + server.describe();
    return versions;
  }
  versions["kubernetes"] = check::text_at(server.body, "/gitVersion");
  const std::string system(kControlPlaneNamespace);
  const check::Answer pods = reader.get("/api/v1/namespaces/" + system +
                                        "/pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dweft");
  nlohmann::json components = nlohmann::json::object();
  if (!pods.found()) {
    versions["error"] = "the control plane's pods: " + pods.describe();
  } else {
    for (const std::string_view deployment : control_plane_deployments()) {
      components[std::string(deployment)] = nlohmann::json::array();
    }
    for (const auto& pod : check::list_items(pods)) {
      const std::string component = check::text_at(pod, "/metadata/labels/app.kubernetes.io~1name");
      if (!components.contains(component)) continue;
      std::string version = pod_version(pod);
      if (version.empty()) version = "unknown";
      auto& list = components[component];
      if (std::find(list.begin(), list.end(), version) == list.end()) list.push_back(version);
    }
  }
  versions["controlPlane"] = std::move(components);
  const std::string proxy = injected_proxy_version(
      reader.get("/api/v1/namespaces/" + system + "/configmaps/weft-webhook-config"));
  if (!proxy.empty()) versions["proxy"] = proxy;
  return versions;
}

void render_versions(std::ostream& out, const nlohmann::json& versions) {
  out << "Client version: " << versions.value("client", "") << "\n";
  if (versions.contains("kubernetes")) {
    out << "Kubernetes API server: " << versions["kubernetes"].get<std::string>() << "\n";
  }
  if (versions.contains("controlPlane")) {
    Table table({"COMPONENT", "VERSION"});
    for (const auto& [component, list] : versions["controlPlane"].items()) {
      table.add_row({component, list.empty() ? "not running" : joined(list)});
    }
    out << "Control plane:\n";
    table.render(out);
  }
  if (versions.contains("proxy")) {
    out << "Proxy (injected by the webhook): " << versions["proxy"].get<std::string>() << "\n";
  }
}

int version_command(Context& context, const std::vector<std::string>& args) {
  auto parsed = flags::parse(kProgram, args);
  if (!parsed) {
    context.err << "weftctl version: " << terminal_safe(parsed.error().message) << "\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(kProgram);
    return 0;
  }
  nlohmann::json versions = {{"client", client_version()}};
  if (!parsed->options.client_only) {
    auto client = context.client();
    if (!client) {
      versions["error"] = client.error().message;
    } else {
      check::ApiClusterReader reader(**client, context.options.pod_probe);
      versions = gather_versions(reader);
    }
  }
  switch (context.options.output) {
    case Output::kJson:
      write_json(context.out, versions);
      break;
    case Output::kYaml:
      write_yaml(context.out, versions);
      break;
    case Output::kTable:
      render_versions(context.out, versions);
      break;
  }
  if (versions.contains("error")) {
    context.err << "weftctl version: " << terminal_safe(versions["error"].get<std::string>())
                << "\n";
    return 1;
  }
  return 0;
}

}  // namespace weft::ctl
