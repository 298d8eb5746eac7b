#include "weftctl/diagnose/diagnose_command.h"

#include <fmt/format.h>

#include <ostream>

#include "weft/constants.h"
#include "weft/flags.h"
#include "weftctl/diagnose/config_check.h"
#include "weftctl/diagnose/endpoints_view.h"
#include "weftctl/diagnose/policy_view.h"
#include "weftctl/output.h"
#include "weftctl/stat/stat_command.h"
#include "weftctl/stat/workloads.h"

namespace weft::ctl {
namespace diagnose {
namespace {

struct DiagnoseOptions {
  std::vector<std::string> words;  // config POD | endpoints SERVICE[:PORT] | policy POD
  bool document = false;
  std::string from_identity;
  std::string from_address;
  std::string path = "/";
  std::string method = "GET";
};

const flags::Program<DiagnoseOptions> kProgram{
    .usage = "Usage: weftctl diagnose config POD | endpoints SERVICE[:PORT] | policy POD [flags]",
    .about =
        "config POD: the version and document hash the pod's proxy serves (its /version,\n"
        "  through the API server), against its namespace's ConfigMap weft-proxy-config;\n"
        "  exit 1 when they differ.\n"
        "endpoints SERVICE[:PORT]: what the namespace's proxies balance the Service over:\n"
        "  each route rule's backends and weights, each endpoint's identity and share.\n"
        "policy POD: the MeshPolicies on each inbound port of the pod and what they decide,\n"
        "  by the proxy's own decision code, for typical clients or the one given.",
    .flags = {flags::arguments(&DiagnoseOptions::words, "WHAT NAME", "what to diagnose, and which"),
              flags::boolean("document", &DiagnoseOptions::document,
                             "config: also print the document (always in -o json|yaml)"),
              flags::text("from-identity", &DiagnoseOptions::from_identity,
                          "policy: decide for this meshed client, NAMESPACE/SERVICEACCOUNT, or "
                          "'none' for a plaintext one")
                  .value_name("NS/SA"),
              flags::ip_address("from-address", &DiagnoseOptions::from_address,
                                "policy: the client's address (default: a documentation "
                                "address no CIDR of yours should hold)"),
              flags::text("path", &DiagnoseOptions::path, "policy: the request's path",
                          flags::TextRule::kNonEmpty),
              flags::text("method", &DiagnoseOptions::method, "policy: the request's method",
                          flags::TextRule::kNonEmpty)},
    .footer = "Global flags (-n, -o, --kubeconfig, --context) apply; see weftctl --help."};

void write_value(Context& context, const nlohmann::json& value) {
  if (context.options.output == Output::kYaml) {
    write_yaml(context.out, value);
  } else {
    write_json(context.out, value);
  }
}

// The ports the pod's own containers declare (TCP), the proxy's aside.
std::vector<std::uint16_t> app_ports(const nlohmann::json& pod) {
  std::vector<std::uint16_t> ports;
  const auto& spec = pod.contains("spec") ? pod["spec"] : nlohmann::json();
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (const auto& container : spec[list]) {
      const std::string name = container.value("name", "");
      if (name == kProxyContainerName || name == "weft-init") continue;
      if (!container.contains("ports") || !container["ports"].is_array()) continue;
      for (const auto& port : container["ports"]) {
        if (port.value("protocol", "TCP") != "TCP") continue;
        const auto number = port.value("containerPort", 0);
        if (number >= 1 && number <= 65535) ports.push_back(static_cast<std::uint16_t>(number));
      }
    }
  }
  return ports;
}

int config(Context& context, stat::Cluster& cluster, const std::string& ns, const std::string& name,
           bool show_document) {
  auto pod = cluster.get(kube::resources::pods(), ns, name);
  if (!pod) {
    context.err << "weftctl diagnose config: " << terminal_safe(pod.error().message) << "\n";
    return 1;
  }
  const stat::PodInfo info = stat::pod_info(*pod);
  if (!info.meshed || !info.admin_port) {
    context.err << fmt::format(
        "weftctl diagnose config: pod {}/{} is not meshed (no weft-proxy container and "
        "injection seal that the webhook verified)\n",
        ns, name);
    return 1;
  }
  auto answer = cluster.pod_get(ns, name, *info.admin_port, "/version");
  if (!answer) {
    context.err << "weftctl diagnose config: the proxy's /version could not be read: "
                << terminal_safe(answer.error().message) << "\n";
    return 1;
  }
  auto version = parse_proxy_version(*answer);
  if (!version) {
    context.err << "weftctl diagnose config: " << terminal_safe(version.error().message) << "\n";
    return 1;
  }
  ConfigCheck check{.ns = ns, .pod = name, .proxy = *version};
  auto config_map = cluster.get(kube::resources::config_maps(), ns, kProxyConfigMapName);
  if (!config_map) {
    check.config_map_problem =
        config_map.is_error(kube::ErrorKind::kForbidden)
            ? "you may not read it (RBAC): the hash and the document cannot be compared"
        : config_map.is_error(kube::ErrorKind::kNotFound)
            ? "not found: the operator has not written this namespace's document"
            : config_map.error().message;
  } else {
    ConfigMapDocument found = read_config_map(*config_map);
    check.config_map_hash = found.hash;
    check.config_map_problem = found.problem;
    check.document = std::move(found.document);
  }
  if (context.options.output == Output::kTable) {
    render_config_check(check, context.options.color, show_document, context.out);
  } else {
    write_value(context, config_check_json(check));
  }
  return check.matches() ? 0 : 1;
}

int endpoints(Context& context, stat::Cluster& cluster, const std::string& ns,
              const std::string& target) {
  auto document = stat::namespace_document(cluster, ns);
  if (!document) {
    context.err << "weftctl diagnose endpoints: " << terminal_safe(document.error().message)
                << "\n";
    return 1;
  }
  auto views = endpoints_view(*document, target);
  if (!views) {
    context.err << "weftctl diagnose endpoints: " << terminal_safe(views.error().message) << "\n";
    return 1;
  }
  if (context.options.output == Output::kTable) {
    render_endpoints(*views, context.out);
  } else {
    write_value(context, endpoints_json(*views));
  }
  return 0;
}

int policy(Context& context, stat::Cluster& cluster, const std::string& ns, const std::string& name,
           const DiagnoseOptions& options) {
  auto pod = cluster.get(kube::resources::pods(), ns, name);
  if (!pod) {
    context.err << "weftctl diagnose policy: " << terminal_safe(pod.error().message) << "\n";
    return 1;
  }
  auto document = stat::namespace_document(cluster, ns);
  if (!document) {
    context.err << "weftctl diagnose policy: " << terminal_safe(document.error().message) << "\n";
    return 1;
  }
  std::vector<ProbeClient> clients = typical_clients(*document);
  const bool custom = !options.from_identity.empty() || !options.from_address.empty() ||
                      options.path != "/" || options.method != "GET";
  if (custom) {
    ProbeClient client{
        .description = "the client given",
        .identity = "",
        .address = options.from_address.empty() ? "198.51.100.7" : options.from_address,
        .method = options.method,
        .path = options.path};
    if (!options.from_identity.empty() && options.from_identity != "none") {
      auto identity =
          identity_of(options.from_identity,
                      document->identity ? document->identity->trust_domain : "cluster.local");
      if (!identity) {
        context.err << "weftctl diagnose policy: --from-identity: "
                    << terminal_safe(identity.error().message) << "\n";
        return 2;
      }
      client.identity = *identity;
    }
    clients = {client};
  }
  const stat::PodInfo info = stat::pod_info(*pod);
  const PolicyView view = policy_view(*document, name, info.labels, app_ports(*pod), clients);
  if (context.options.output == Output::kTable) {
    if (!info.meshed) {
      context.err << "warning: pod " << ns << "/" << name
                  << " is not meshed: no proxy enforces these policies on it\n";
    }
    render_policy(view, context.options.color, context.out);
  } else {
    write_value(context, policy_json(view));
  }
  return 0;
}

// The name in `config POD`, `policy POD` or `endpoints SERVICE[:PORT]`, with
// kubectl's KIND/NAME form accepted for the kind it names; another kind ("deploy/api")
// is a usage error, never a request for an object named "deploy/api".
Result<std::string> object_name(const std::string& what, const std::string& word) {
  const auto slash = word.find('/');
  if (slash == std::string::npos) return word;
  const std::string kind = word.substr(0, slash);
  const bool pod_kind = kind == "pod" || kind == "pods" || kind == "po";
  const bool service_kind = kind == "svc" || kind == "service" || kind == "services";
  if ((what == "endpoints" && service_kind) || (what != "endpoints" && pod_kind)) {
    return word.substr(slash + 1);
  }
  return Error{fmt::format(
      "{} takes {}, not {}", what,
      what == "endpoints" ? "a Service's name (or svc/NAME)" : "a pod's name (or pod/NAME)", word)};
}

}  // namespace

int run_diagnose(Context& context, stat::Cluster& cluster, const std::vector<std::string>& args) {
  auto parsed = flags::parse(kProgram, args);
  if (!parsed) {
    context.err << "weftctl diagnose: " << terminal_safe(parsed.error().message) << "\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(kProgram);
    return 0;
  }
  const DiagnoseOptions& options = parsed->options;
  if (options.words.size() != 2 ||
      (options.words[0] != "config" && options.words[0] != "endpoints" &&
       options.words[0] != "policy")) {
    context.err << "weftctl diagnose: name what and which: config POD, endpoints "
                   "SERVICE[:PORT] or policy POD\n";
    return 2;
  }
  if (context.options.all_namespaces) {
    context.err << "weftctl diagnose: works in one namespace (-n), not -A\n";
    return 2;
  }
  const auto named = object_name(options.words[0], options.words[1]);
  if (!named) {
    context.err << "weftctl diagnose: " << terminal_safe(named.error().message) << "\n";
    return 2;
  }
  if (auto connected = cluster.connect(); !connected) {
    context.err << "weftctl diagnose: " << terminal_safe(connected.error().message) << "\n";
    return 1;
  }
  const std::string ns = context.namespace_or_default();
  const std::string& what = options.words[0];
  const std::string& name = *named;
  if (what == "config") return config(context, cluster, ns, name, options.document);
  if (what == "endpoints") return endpoints(context, cluster, ns, name);
  return policy(context, cluster, ns, name, options);
}

}  // namespace diagnose

int diagnose_command(Context& context, const std::vector<std::string>& args) {
  const auto cluster = stat::kube_cluster(context.client, context.options.pod_probe);
  return diagnose::run_diagnose(context, *cluster, args);
}

}  // namespace weft::ctl
