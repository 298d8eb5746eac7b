#include "weftctl/stat/stat_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <set>
#include <tuple>

namespace weft::ctl::stat {
namespace {

// Joins the parts of a row key; the separator is in no name or label.
std::string row_key(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (const std::string_view part : parts) {
    if (!key.empty()) key += '\x1f';
    key += part;
  }
  return key;
}

std::string_view kind_word(StatKind kind) {
  switch (kind) {
    case StatKind::kDeploy:
      return "deployment";
    case StatKind::kPod:
      return "pod";
    case StatKind::kNamespace:
      return "namespace";
    case StatKind::kRoute:
      return "route";
  }
  return "resource";
}

bool in_scope(const StatRequest& request, const std::string& ns) {
  return request.all_namespaces || ns == request.ns;
}

// The pods of a resource named on the command line (--from, --to), in the
// request's namespace.
Result<std::vector<const PodInfo*>> pods_of(const ResourceRef& ref, const StatRequest& request,
                                            const Inventory& inventory) {
  std::vector<const PodInfo*> pods;
  const auto take = [&](auto&& wanted) {
    for (const PodInfo& pod : inventory.pods) {
      if (wanted(pod)) pods.push_back(&pod);
    }
  };
  if (ref.kind == "pod") {
    take([&](const PodInfo& pod) { return pod.ns == request.ns && pod.name == ref.name; });
  } else if (ref.kind == "deploy") {
    const auto found = std::find_if(
        inventory.deployments.begin(), inventory.deployments.end(),
        [&](const DeploymentInfo& d) { return d.ns == request.ns && d.name == ref.name; });
    if (found == inventory.deployments.end()) {
      return Error{fmt::format("deployment {} not found in namespace {}", ref.name, request.ns)};
    }
    take([&](const PodInfo& pod) { return selects(*found, pod); });
  } else if (ref.kind == "svc") {
    const auto found = std::find_if(
        inventory.services.begin(), inventory.services.end(),
        [&](const ServiceInfo& s) { return s.ns == request.ns && s.name == ref.name; });
    if (found == inventory.services.end()) {
      return Error{fmt::format("service {} not found in namespace {}", ref.name, request.ns)};
    }
    take([&](const PodInfo& pod) { return selects(*found, pod); });
  } else {
    return Error{fmt::format("--from/--to take deploy/NAME, pod/NAME or svc/NAME, not {}/{}",
                             ref.kind, ref.name)};
  }
  return pods;
}

// "ns/service" of the Services that select any of `pods` (a svc/NAME names
// itself, whatever its selector).
std::set<std::string> services_of(const ResourceRef& ref, const std::vector<const PodInfo*>& pods,
                                  const StatRequest& request, const Inventory& inventory) {
  std::set<std::string> services;
  if (ref.kind == "svc") services.insert(request.ns + "/" + ref.name);
  for (const ServiceInfo& service : inventory.services) {
    for (const PodInfo* pod : pods) {
      if (selects(service, *pod)) services.insert(service.ns + "/" + service.name);
    }
  }
  return services;
}

// The pods that can be scraped, and a warning for each meshed one that cannot.
void choose_scrapes(const std::vector<const PodInfo*>& pods, StatPlan& plan) {
  std::set<std::string> taken;
  for (const PodInfo& pod : plan.scrape) taken.insert(pod_key(pod));
  for (const PodInfo* pod : pods) {
    if (!pod->meshed || taken.count(pod_key(*pod)) > 0) continue;
    if (!pod->running) {
      plan.warnings.push_back(fmt::format("pod {} is not running: not scraped", pod_key(*pod)));
    } else if (!pod->admin_port) {
      plan.warnings.push_back(
          fmt::format("pod {}: its weft-proxy container names no admin port (port weft-admin or "
                      "WEFT_PROXY_ADMIN_PORT): not scraped",
                      pod_key(*pod)));
    } else {
      plan.scrape.push_back(*pod);
    }
    taken.insert(pod_key(*pod));
  }
}

bool is_counted(const PodInfo& pod) {
  return pod.meshed && pod.running;
}

// The resource rows of deploy/pod/ns and the pods of each.
Result<std::vector<std::pair<RowSpec, std::vector<const PodInfo*>>>> resource_rows(
    const StatRequest& request, const Inventory& inventory) {
  std::vector<std::pair<RowSpec, std::vector<const PodInfo*>>> rows;
  const auto add_row = [&](const std::string& ns, const std::string& name,
                           std::vector<const PodInfo*> pods) {
    RowSpec row;
    row.key = row_key({ns, name});
    row.ns = ns;
    row.name = name;
    row.pods = static_cast<int>(pods.size());
    row.meshed = static_cast<int>(std::count_if(
        pods.begin(), pods.end(), [](const PodInfo* pod) { return is_counted(*pod); }));
    rows.emplace_back(std::move(row), std::move(pods));
  };
  if (request.kind == StatKind::kDeploy) {
    for (const DeploymentInfo& deployment : inventory.deployments) {
      if (!in_scope(request, deployment.ns)) continue;
      if (!request.name.empty() && deployment.name != request.name) continue;
      std::vector<const PodInfo*> pods;
      for (const PodInfo& pod : inventory.pods) {
        if (selects(deployment, pod)) pods.push_back(&pod);
      }
      add_row(deployment.ns, deployment.name, std::move(pods));
    }
  } else if (request.kind == StatKind::kPod) {
    for (const PodInfo& pod : inventory.pods) {
      if (!in_scope(request, pod.ns)) continue;
      if (!request.name.empty() && pod.name != request.name) continue;
      add_row(pod.ns, pod.name, {&pod});
    }
  } else {
    std::map<std::string, std::vector<const PodInfo*>> by_namespace;
    if (!request.name.empty()) by_namespace[request.name];
    for (const PodInfo& pod : inventory.pods) {
      const bool wanted = request.name.empty() ? in_scope(request, pod.ns) : pod.ns == request.name;
      if (wanted) by_namespace[pod.ns].push_back(&pod);
    }
    if (request.name.empty() && !request.all_namespaces) by_namespace[request.ns];
    for (auto& [ns, pods] : by_namespace) add_row(ns, ns, std::move(pods));
  }
  if (!request.name.empty() && rows.empty()) {
    return Error{fmt::format("{} {} not found in namespace {}", kind_word(request.kind),
                             request.name, request.ns)};
  }
  return rows;
}

// stat route: a row per route of each Service port, and per backend of each
// of its rules, with their weights.
void route_rows(const StatRequest& request, const Inventory& inventory, StatPlan& plan) {
  for (const auto& [ns, document] : inventory.documents) {
    if (!in_scope(request, ns)) continue;
    for (const proxyconfig::Service& service : document.outbound.services) {
      for (const proxyconfig::ServicePort& port : service.ports) {
        const std::string target = service.name + ":" + std::to_string(port.port);
        std::set<std::string> routes_seen;
        for (const proxyconfig::Rule& rule : port.rules) {
          if (!request.name.empty() && rule.route != request.name) continue;
          if (routes_seen.insert(rule.route).second) {
            RowSpec row;
            row.key = row_key({ns, target, rule.route});
            row.ns = ns;
            row.name = rule.route;
            row.service = target;
            plan.rows.push_back(std::move(row));
          }
          const double total = std::accumulate(
              rule.backends.begin(), rule.backends.end(), 0.0,
              [](double sum, const proxyconfig::Backend& b) { return sum + b.weight; });
          for (const proxyconfig::Backend& backend : rule.backends) {
            const std::string backend_label = backend.service + ":" + std::to_string(backend.port);
            RowSpec row;
            row.key =
                row_key({ns, target, rule.route, std::to_string(rule.route_rule), backend_label});
            row.ns = ns;
            row.name = rule.route;
            row.service = target;
            row.rule = rule.route_rule;
            row.backend = backend_label;
            row.weight = backend.weight;
            if (total > 0) row.weight_share = backend.weight / total;
            plan.rows.push_back(std::move(row));
          }
        }
      }
    }
  }
}

}  // namespace

std::string pod_key(const PodInfo& pod) {
  return pod.ns + "/" + pod.name;
}

Result<StatPlan> plan_stat(const StatRequest& request, const Inventory& inventory) {
  StatPlan plan;
  std::optional<std::vector<const PodInfo*>> from_pods;
  std::set<std::string> to_services;
  if (request.from || request.to) {
    if (request.all_namespaces) return Error{"--from and --to work within one namespace, not -A"};
    if (request.kind == StatKind::kNamespace) return Error{"--from and --to do not apply to ns"};
  }
  if (request.from) {
    auto pods = pods_of(*request.from, request, inventory);
    if (!pods) return pods.error();
    from_pods = std::move(*pods);
  }
  if (request.to) {
    auto pods = pods_of(*request.to, request, inventory);
    if (!pods) return pods.error();
    to_services = services_of(*request.to, *pods, request, inventory);
  }

  if (request.kind == StatKind::kRoute) {
    route_rows(request, inventory, plan);
    std::vector<const PodInfo*> clients;
    if (from_pods) {
      clients = *from_pods;
    } else {
      for (const PodInfo& pod : inventory.pods) {
        if (in_scope(request, pod.ns)) clients.push_back(&pod);
      }
    }
    choose_scrapes(clients, plan);
    const std::string wanted = request.name;
    plan.group = [wanted, to_services](const std::string& pod,
                                       const Sample& sample) -> std::vector<std::string> {
      if (label(sample, "direction") != "outbound") return {};
      const std::string route(label(sample, "route"));
      if (route.empty() || (!wanted.empty() && route != wanted)) return {};
      const std::string target(label(sample, "target_service"));
      const std::string ns = pod.substr(0, pod.find('/'));
      if (!to_services.empty() && to_services.count(ns + "/" + service_of_target(target)) == 0) {
        return {};
      }
      std::vector<std::string> keys{row_key({ns, target, route})};
      // The split, when the proxy labels a request with its rule and backend.
      const std::string_view rule = label(sample, "route_rule");
      const std::string_view backend = label(sample, "backend");
      if (!backend.empty()) keys.push_back(row_key({ns, target, route, rule, backend}));
      return keys;
    };
    return plan;
  }

  auto rows = resource_rows(request, inventory);
  if (!rows) return rows.error();
  std::map<std::string, std::string> row_of_pod;      // pod key -> row key
  std::map<std::string, std::string> row_of_service;  // "ns/svc" -> row key (--from)
  for (auto& [row, pods] : *rows) {
    for (const PodInfo* pod : pods) row_of_pod.emplace(pod_key(*pod), row.key);
    if (from_pods) {
      for (const ServiceInfo& service : inventory.services) {
        for (const PodInfo* pod : pods) {
          if (selects(service, *pod))
            row_of_service.emplace(service.ns + "/" + service.name, row.key);
        }
      }
    } else {
      choose_scrapes(pods, plan);
    }
    plan.rows.push_back(row);
  }
  if (from_pods) {
    choose_scrapes(*from_pods, plan);
    plan.group = [row_of_service](const std::string& pod,
                                  const Sample& sample) -> std::vector<std::string> {
      if (label(sample, "direction") != "outbound") return {};
      const std::string ns = pod.substr(0, pod.find('/'));
      const auto found =
          row_of_service.find(ns + "/" + service_of_target(label(sample, "target_service")));
      if (found == row_of_service.end()) return {};
      return {found->second};
    };
  } else if (request.to) {
    plan.group = [row_of_pod, to_services](const std::string& pod,
                                           const Sample& sample) -> std::vector<std::string> {
      if (label(sample, "direction") != "outbound") return {};
      const std::string ns = pod.substr(0, pod.find('/'));
      if (to_services.count(ns + "/" + service_of_target(label(sample, "target_service"))) == 0) {
        return {};
      }
      const auto found = row_of_pod.find(pod);
      if (found == row_of_pod.end()) return {};
      return {found->second};
    };
  } else {
    plan.group = [row_of_pod](const std::string& pod,
                              const Sample& sample) -> std::vector<std::string> {
      if (label(sample, "direction") != "inbound") return {};
      const auto found = row_of_pod.find(pod);
      if (found == row_of_pod.end()) return {};
      return {found->second};
    };
  }
  return plan;
}

void add_rows_found(StatPlan& plan, const std::map<std::string, Traffic>& traffic) {
  std::set<std::string> known;
  for (const RowSpec& row : plan.rows) known.insert(row.key);
  for (const auto& [key, found] : traffic) {
    if (known.count(key) > 0) continue;
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      const std::size_t end = key.find('\x1f', start);
      parts.push_back(
          key.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    RowSpec row;
    row.key = key;
    row.ns = parts[0];
    if (parts.size() >= 3) {  // a route row: ns, target, route [, rule, backend]
      row.service = parts[1];
      row.name = parts[2];
      if (parts.size() == 5) {
        row.rule = static_cast<std::uint32_t>(std::strtoul(parts[3].c_str(), nullptr, 10));
        row.backend = parts[4];
      }
    } else if (parts.size() == 2) {
      row.name = parts[1];
    }
    plan.rows.push_back(std::move(row));
  }
  // Routes: each Service port's route, then its backends, in a stable order.
  std::stable_sort(plan.rows.begin(), plan.rows.end(), [](const RowSpec& a, const RowSpec& b) {
    if (a.service.empty() && b.service.empty()) return false;
    return std::tie(a.ns, a.service, a.name, a.rule, a.backend) <
           std::tie(b.ns, b.service, b.name, b.rule, b.backend);
  });
}

}  // namespace weft::ctl::stat
