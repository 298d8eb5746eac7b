#include "weftctl/stat/stat_command.h"

#include <fmt/format.h>

#include <chrono>
#include <ostream>
#include <set>

#include "weft/constants.h"
#include "weft/duration.h"
#include "weft/flags.h"
#include "weft/proxyconfig/parse.h"
#include "weftctl/output.h"
#include "weftctl/stat/prometheus_text.h"
#include "weftctl/stat/stat_plan.h"
#include "weftctl/stat/stat_report.h"
#include "weftctl/stat/traffic_window.h"

namespace weft::ctl {
namespace stat {
namespace {

struct StatOptions {
  std::vector<std::string> words;  // KIND [NAME], or KIND/NAME
  std::chrono::milliseconds window{30'000};
  std::string from;
  std::string to;
};

const flags::Program<StatOptions> kProgram{
    .usage = "Usage: weftctl stat deploy|pod|ns|route [NAME] [flags]",
    .about =
        "The golden metrics of meshed workloads over a window: success rate, requests per\n"
        "second, latency percentiles, TCP connections and the share of requests over mTLS,\n"
        "from two scrapes of their proxies' /metrics (through the API server's pod proxy).\n"
        "deploy, pod, ns: what each resource served (its pods' inbound traffic);\n"
        "route: each MeshRoute by Service port, rule and backend, with the weights.",
    .flags = {flags::arguments(&StatOptions::words, "KIND [NAME]",
                               "deploy, pod, ns or route, and optionally one name"),
              flags::duration("window", &StatOptions::window,
                              "time between the two scrapes (at least 1s)",
                              std::chrono::seconds(1)),
              flags::text("from", &StatOptions::from,
                          "only traffic from this client: deploy/NAME, pod/NAME or svc/NAME "
                          "(read from the client's outbound side)")
                  .value_name("RES"),
              flags::text("to", &StatOptions::to,
                          "only traffic to this server: deploy/NAME, pod/NAME or svc/NAME "
                          "(read from each resource's outbound side)")
                  .value_name("RES")},
    .footer = "Global flags (-n, -A, -o, --kubeconfig, --context) apply; see weftctl --help."};

Result<StatRequest> request_of(const StatOptions& options, const Context& context,
                               const std::string& ns) {
  StatRequest request;
  std::vector<std::string> words = options.words;
  if (words.size() == 1 && words[0].find('/') != std::string::npos) {
    const std::string word = words[0];
    words = {word.substr(0, word.find('/')), word.substr(word.find('/') + 1)};
  }
  if (words.empty() || words.size() > 2) {
    return Error{"name a kind (deploy, pod, ns or route) and at most one name"};
  }
  if (words[0] == "route" || words[0] == "routes" || words[0] == "meshroute" ||
      words[0] == "meshroutes") {
    request.kind = StatKind::kRoute;
  } else {
    auto kind = normalise_kind(words[0]);
    if (!kind || *kind == "svc") {
      return Error{
          fmt::format("{:?} is not a kind stat reads: deploy, pod, ns or route", words[0])};
    }
    request.kind = *kind == "deploy" ? StatKind::kDeploy
                   : *kind == "pod"  ? StatKind::kPod
                                     : StatKind::kNamespace;
  }
  if (words.size() == 2) request.name = words[1];
  request.ns = ns;
  request.all_namespaces = context.options.all_namespaces;
  if (request.all_namespaces && !request.name.empty() && request.kind != StatKind::kNamespace) {
    return Error{"a NAME needs one namespace (-n), not -A"};
  }
  if (!options.from.empty()) {
    auto from = parse_resource_ref(options.from);
    if (!from) return Error{"--from: " + from.error().message};
    request.from = *from;
  }
  if (!options.to.empty()) {
    auto to = parse_resource_ref(options.to);
    if (!to) return Error{"--to: " + to.error().message};
    request.to = *to;
  }
  return request;
}

// What the API lists for the request.
Result<Inventory> load_inventory(Cluster& cluster, const StatRequest& request,
                                 std::vector<std::string>& warnings) {
  Inventory inventory;
  // stat ns NAME reads that namespace whatever -n says.
  const std::string scope = request.all_namespaces ? ""
                            : request.kind == StatKind::kNamespace && !request.name.empty()
                                ? request.name
                                : request.ns;
  auto pods = cluster.list(kube::resources::pods(), scope);
  if (!pods) return Error{"listing pods: " + pods.error().message};
  for (const auto& pod : *pods) {
    // A finished pod (a Job's) serves nothing: neither counted nor warned about.
    PodInfo info = pod_info(pod);
    if (!info.finished) inventory.pods.push_back(std::move(info));
  }
  const auto wants = [&](const char* kind) {
    return (request.from && request.from->kind == kind) || (request.to && request.to->kind == kind);
  };
  if (request.kind == StatKind::kDeploy || wants("deploy")) {
    auto deployments = cluster.list(kube::resources::deployments(), scope);
    if (!deployments) return Error{"listing deployments: " + deployments.error().message};
    for (const auto& item : *deployments) inventory.deployments.push_back(deployment_info(item));
  }
  if (request.from || request.to) {
    auto services = cluster.list(kube::resources::services(), scope);
    if (!services) return Error{"listing services: " + services.error().message};
    for (const auto& item : *services) inventory.services.push_back(service_info(item));
  }
  if (request.kind == StatKind::kRoute) {
    std::set<std::string> namespaces;
    if (!request.all_namespaces) namespaces.insert(request.ns);
    for (const PodInfo& pod : inventory.pods) {
      if (pod.meshed) namespaces.insert(pod.ns);
    }
    for (const std::string& ns : namespaces) {
      auto document = namespace_document(cluster, ns);
      if (!document) {
        warnings.push_back(
            fmt::format("namespace {}: no routes from its document ({}); only the "
                        "routes with traffic are shown",
                        ns, document.error().message));
        continue;
      }
      inventory.documents.emplace(ns, std::move(*document));
    }
  }
  return inventory;
}

// One pass over the proxies; a pod that does not answer is named and dropped.
std::map<std::string, std::vector<Sample>> scrape(Cluster& cluster,
                                                  const std::vector<PodInfo>& pods,
                                                  std::vector<std::string>& warnings) {
  std::map<std::string, std::vector<Sample>> scraped;
  for (const PodInfo& pod : pods) {
    auto text = cluster.pod_get(pod.ns, pod.name, *pod.admin_port, "/metrics");
    if (!text) {
      warnings.push_back(fmt::format("pod {}: its proxy's /metrics could not be read: {}",
                                     pod_key(pod), text.error().message));
      continue;
    }
    auto samples = parse_prometheus_text(*text);
    if (!samples) {
      warnings.push_back(fmt::format("pod {}: its proxy's /metrics is not Prometheus text: {}",
                                     pod_key(pod), samples.error().message));
      continue;
    }
    scraped.emplace(pod_key(pod), std::move(*samples));
  }
  return scraped;
}

}  // namespace

Result<proxyconfig::Document> namespace_document(Cluster& cluster, const std::string& ns) {
  auto config_map = cluster.get(kube::resources::config_maps(), ns, kProxyConfigMapName);
  if (!config_map) {
    if (config_map.is_error(kube::ErrorKind::kNotFound)) {
      return Error{fmt::format("no ConfigMap {} in namespace {}", kProxyConfigMapName, ns)};
    }
    if (config_map.is_error(kube::ErrorKind::kForbidden)) {
      return Error{fmt::format("you may not read the ConfigMap {} of namespace {}",
                               kProxyConfigMapName, ns)};
    }
    return Error{config_map.error().message};
  }
  const auto& data = (*config_map)["data"];
  const std::string key(kProxyConfigKey);
  if (!data.is_object() || !data.contains(key) || !data[key].is_string()) {
    return Error{fmt::format("the ConfigMap {} of namespace {} has no {}", kProxyConfigMapName, ns,
                             kProxyConfigKey)};
  }
  auto parsed = proxyconfig::parse(data[key].get<std::string>());
  if (!parsed) {
    return Error{
        fmt::format("the document of namespace {} is refused: {}", ns, parsed.error().message)};
  }
  return std::move(parsed->document);
}

int run_stat(Context& context, Cluster& cluster, const std::vector<std::string>& args) {
  auto parsed = flags::parse(kProgram, args);
  if (!parsed) {
    context.err << "weftctl stat: " << terminal_safe(parsed.error().message) << "\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(kProgram);
    return 0;
  }
  // The client first: the kubeconfig's namespace is known once it is read.
  if (auto connected = cluster.connect(); !connected) {
    context.err << "weftctl stat: " << terminal_safe(connected.error().message) << "\n";
    return 1;
  }
  auto request = request_of(parsed->options, context, context.namespace_or_default());
  if (!request) {
    context.err << "weftctl stat: " << terminal_safe(request.error().message) << "\n";
    return 2;
  }
  std::vector<std::string> warnings;
  auto inventory = load_inventory(cluster, *request, warnings);
  if (!inventory) {
    context.err << "weftctl stat: " << terminal_safe(inventory.error().message) << "\n";
    return 1;
  }
  auto plan = plan_stat(*request, *inventory);
  if (!plan) {
    context.err << "weftctl stat: " << terminal_safe(plan.error().message) << "\n";
    return 1;
  }
  warnings.insert(warnings.end(), plan->warnings.begin(), plan->warnings.end());

  auto before = scrape(cluster, plan->scrape, warnings);
  // On a terminal's stderr (-o json stays clean, scripts see nothing): a long
  // window looks like a hang otherwise.
  if (context.err_is_terminal && parsed->options.window >= std::chrono::seconds(2) &&
      !plan->scrape.empty()) {
    const auto shown = format_duration(parsed->options.window);
    context.err << fmt::format("measuring {} {} over {}...\n", plan->scrape.size(),
                               plan->scrape.size() == 1 ? "proxy" : "proxies",
                               shown ? *shown : "the window");
  }
  const std::chrono::duration<double> window = cluster.wait(parsed->options.window);
  auto after = scrape(cluster, plan->scrape, warnings);
  std::vector<PodScrapes> scrapes;
  for (auto& [pod, samples] : after) {
    const auto first = before.find(pod);
    if (first == before.end()) continue;  // (its first scrape's failure is already named)
    scrapes.push_back({pod, std::move(first->second), std::move(samples)});
  }
  for (const auto& [pod, samples] : before) {
    if (after.count(pod) == 0) {
      warnings.push_back(
          fmt::format("pod {}: left out, its proxy answered only the first scrape", pod));
    }
  }

  const auto traffic = traffic_by_row(scrapes, plan->group);
  if (request->kind == StatKind::kRoute) add_rows_found(*plan, traffic);
  plan->warnings = warnings;
  const StatReport report = make_report(*request, *plan, traffic, window);
  for (const auto& warning : warnings) context.err << "warning: " << terminal_safe(warning) << "\n";
  switch (context.options.output) {
    case Output::kJson:
      write_json(context.out, report_json(report));
      break;
    case Output::kYaml:
      write_yaml(context.out, report_json(report));
      break;
    case Output::kTable:
      render_report_table(report, context.out);
      break;
  }
  return 0;
}

}  // namespace stat

int stat_command(Context& context, const std::vector<std::string>& args) {
  const auto cluster = stat::kube_cluster(context.client, context.options.pod_probe);
  return stat::run_stat(context, *cluster, args);
}

}  // namespace weft::ctl
