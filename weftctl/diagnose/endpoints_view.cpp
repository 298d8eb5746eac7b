#include "weftctl/diagnose/endpoints_view.h"

#include <fmt/format.h>

#include <numeric>
#include <ostream>

#include "weft/duration.h"
#include "weft/proxyconfig/enums.h"
#include "weftctl/output.h"

namespace weft::ctl::diagnose {
namespace {

namespace pc = proxyconfig;

std::string duration_text(std::chrono::milliseconds duration) {
  auto text = format_duration(duration);
  return text ? *text : fmt::format("{}ms", duration.count());
}

std::string circuit_breaker_text(const std::optional<pc::CircuitBreaker>& breaker) {
  if (!breaker) return "none";
  return fmt::format("{} failures, {}..{}", breaker->consecutive_failures,
                     duration_text(breaker->ejection_time),
                     duration_text(breaker->max_ejection_time));
}

std::string address_text(const pc::Endpoint& endpoint) {
  if (endpoint.address.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", endpoint.address, endpoint.port);
  }
  return fmt::format("{}:{}", endpoint.address, endpoint.port);
}

const pc::ServicePort* find_port(const pc::Document& document, const std::string& service,
                                 std::uint16_t port) {
  for (const pc::Service& candidate : document.outbound.services) {
    if (candidate.name != service) continue;
    for (const pc::ServicePort& candidate_port : candidate.ports) {
      if (candidate_port.port == port) return &candidate_port;
    }
  }
  return nullptr;
}

BackendRow backend_row(const pc::ServicePort& port, std::string service, double share) {
  BackendRow row;
  row.service = std::move(service);
  row.load_balancer = std::string(pc::to_string(port.load_balancer));
  row.circuit_breaker = circuit_breaker_text(port.circuit_breaker);
  for (const pc::Endpoint& endpoint : port.endpoints) {
    row.endpoints.push_back({address_text(endpoint), endpoint.pod, endpoint.zone, endpoint.identity,
                             share / static_cast<double>(port.endpoints.size())});
  }
  return row;
}

std::string optional_text(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace

Result<std::vector<EndpointsView>> endpoints_view(const pc::Document& document,
                                                  std::string_view target) {
  const std::size_t colon = target.rfind(':');
  const std::string name(target.substr(0, colon));
  std::optional<std::uint16_t> wanted_port;
  if (colon != std::string_view::npos) {
    const std::string digits(target.substr(colon + 1));
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) < 1 ||
        std::stoi(digits) > 65535) {
      return Error{fmt::format("{:?} is not SERVICE or SERVICE:PORT", std::string(target))};
    }
    wanted_port = static_cast<std::uint16_t>(std::stoi(digits));
  }
  const pc::Service* service = nullptr;
  for (const pc::Service& candidate : document.outbound.services) {
    if (candidate.name == name) service = &candidate;
  }
  if (service == nullptr) {
    return Error{fmt::format(
        "the document of namespace {} has no Service {} (a Service whose ports are all UDP, or "
        "one created since the operator last wrote, is not in it)",
        document.ns, name)};
  }
  std::vector<EndpointsView> views;
  for (const pc::ServicePort& port : service->ports) {
    if (wanted_port && port.port != *wanted_port) continue;
    EndpointsView view;
    view.ns = document.ns;
    view.service = fmt::format("{}:{}", name, port.port);
    if (port.rules.empty()) {
      view.backends.push_back(backend_row(port, view.service, 1.0));
    }
    for (const pc::Rule& rule : port.rules) {
      const double total = std::accumulate(
          rule.backends.begin(), rule.backends.end(), 0.0,
          [](double sum, const pc::Backend& backend) { return sum + backend.weight; });
      for (const pc::Backend& backend : rule.backends) {
        const double share = total > 0 ? backend.weight / total : 0;
        const std::string label = fmt::format("{}:{}", backend.service, backend.port);
        const pc::ServicePort* backend_port = find_port(document, backend.service, backend.port);
        BackendRow row;
        if (backend_port != nullptr) {
          row = backend_row(*backend_port, label, share);
        } else {
          row.service = label;
          row.load_balancer = "(not in the document: 503)";
        }
        row.route = rule.route;
        row.rule = rule.route_rule;
        row.weight = backend.weight;
        row.weight_share = share;
        view.backends.push_back(std::move(row));
      }
    }
    views.push_back(std::move(view));
  }
  if (views.empty()) {
    return Error{fmt::format("Service {} has no port {} in the document of namespace {}", name,
                             wanted_port.value_or(0), document.ns)};
  }
  return views;
}

nlohmann::json endpoints_json(const std::vector<EndpointsView>& views) {
  nlohmann::json out = nlohmann::json::array();
  for (const EndpointsView& view : views) {
    nlohmann::json backends = nlohmann::json::array();
    for (const BackendRow& backend : view.backends) {
      nlohmann::json endpoints = nlohmann::json::array();
      for (const EndpointRow& endpoint : backend.endpoints) {
        endpoints.push_back({{"address", endpoint.address},
                             {"pod", endpoint.pod},
                             {"zone", endpoint.zone},
                             {"identity", endpoint.identity},
                             {"meshed", !endpoint.identity.empty()},
                             {"share", endpoint.share}});
      }
      backends.push_back(
          {{"route",
            backend.route.empty() ? nlohmann::json(nullptr) : nlohmann::json(backend.route)},
           {"rule", backend.rule ? nlohmann::json(*backend.rule) : nlohmann::json(nullptr)},
           {"service", backend.service},
           {"weight", backend.weight},
           {"weightShare", backend.weight_share},
           {"loadBalancer", backend.load_balancer},
           {"circuitBreaker", backend.circuit_breaker},
           {"endpoints", std::move(endpoints)}});
    }
    out.push_back(
        {{"namespace", view.ns}, {"service", view.service}, {"backends", std::move(backends)}});
  }
  return out;
}

void render_endpoints(const std::vector<EndpointsView>& views, std::ostream& out) {
  bool first = true;
  for (const EndpointsView& view : views) {
    if (!first) out << "\n";
    first = false;
    for (const BackendRow& backend : view.backends) {
      out << fmt::format("{}/{}", view.ns, view.service);
      if (!backend.route.empty()) {
        out << fmt::format(" route {} rule {} -> {} weight {} ({:.2f}%)", backend.route,
                           backend.rule.value_or(0), backend.service, backend.weight,
                           100 * backend.weight_share);
      }
      out << fmt::format(": {}, circuit breaker {}\n", backend.load_balancer,
                         backend.circuit_breaker);
      if (backend.endpoints.empty()) {
        out << "  no ready endpoint: requests get 503\n";
        continue;
      }
      Table table({"  ENDPOINT", "POD", "ZONE", "IDENTITY", "SHARE"});
      for (const EndpointRow& endpoint : backend.endpoints) {
        table.add_row({"  " + endpoint.address, optional_text(endpoint.pod),
                       optional_text(endpoint.zone),
                       endpoint.identity.empty() ? "- (plaintext)" : endpoint.identity,
                       fmt::format("{:.2f}%", 100 * endpoint.share)});
      }
      table.render(out);
    }
  }
}

}  // namespace weft::ctl::diagnose
