#include "operator/options.h"

#include <fmt/format.h>

#include <charconv>
#include <set>

namespace weft::op {

std::string usage() {
  return R"(Usage: weft-operator [flags]

Reconciles MeshRoutes, MeshPolicies, Services and EndpointSlices into one
weft-proxy-config ConfigMap per namespace labelled weft.io/inject=enabled.

Flags:
  --kubeconfig PATH                  kubeconfig file (default: in-cluster configuration,
                                     then $KUBECONFIG, then ~/.kube/config)
  --namespace NAME                   namespace of the leader-election Lease (default weft-system)
  --metrics-bind-address ADDR        where /metrics is served, "0" disables (default :8080)
  --health-probe-bind-address ADDR   where /healthz and /readyz are served (default :8081)
  --log-level LEVEL                  debug, info, warn or error (default info)
  --leader-elect BOOL                run leader election (default true); false: this
                                     process writes unconditionally (single replica only)
  --workers N                        namespaces reconciled in parallel (default 2)
  --namespace-selector K=V[,K=V]     reconcile only namespaces with these labels (default: all)
  --kube-api-qps N                   client-side rate limit, requests per second (default 50)
  --kube-api-burst N                 client-side burst (default 100)
  --help                             print this help and exit

ADDR is HOST:PORT, :PORT (every interface) or [IPv6]:PORT; port 0 picks a free port.
)";
}

Result<std::optional<BindAddress>> parse_bind_address(const std::string& text) {
  if (text == "0") return std::optional<BindAddress>{};
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Error{fmt::format("bind address {:?}: expected HOST:PORT, :PORT or 0", text)};
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return Error{fmt::format("bind address {:?}: port must be a number from 0 to 65535", text)};
  }
  return std::optional<BindAddress>{BindAddress{host, static_cast<std::uint16_t>(port)}};
}

Result<std::map<std::string, std::string>> parse_label_selector(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || item.find('=', eq + 1) != std::string::npos ||
        item.find_first_of("!() ") != std::string::npos) {
      return Error{fmt::format("{:?}: expected key=value[,key=value]", text)};
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<OperatorOptions> parse_options(const std::vector<std::string>& args) {
  OperatorOptions options;
  options.metrics = BindAddress{"0.0.0.0", 8080};
  options.health = BindAddress{"0.0.0.0", 8081};
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--help" || flag == "-h") {
      options.help = true;
      continue;
    }
    static const std::set<std::string, std::less<>> kValueFlags = {"--kubeconfig",
                                                                   "--namespace",
                                                                   "--metrics-bind-address",
                                                                   "--health-probe-bind-address",
                                                                   "--log-level",
                                                                   "--leader-elect",
                                                                   "--workers",
                                                                   "--kube-api-qps",
                                                                   "--kube-api-burst",
                                                                   "--namespace-selector"};
    if (!kValueFlags.contains(flag)) {
      return Error{fmt::format("unknown flag {:?} (see --help)", flag)};
    }
    const auto take = [&]() -> Result<std::string> {
      if (value) return *value;
      if (i + 1 >= args.size()) return Error{fmt::format("flag {} needs a value", flag)};
      return args[++i];
    };
    auto text = take();
    if (!text) return text.error();
    if (flag == "--kubeconfig") {
      options.kubeconfig = *text;
    } else if (flag == "--namespace") {
      if (text->empty()) return Error{"--namespace must not be empty"};
      options.lease_namespace = *text;
    } else if (flag == "--metrics-bind-address" || flag == "--health-probe-bind-address") {
      auto address = parse_bind_address(*text);
      if (!address) return Error{fmt::format("{}: {}", flag, address.error().message)};
      (flag == "--metrics-bind-address" ? options.metrics : options.health) = *address;
    } else if (flag == "--log-level") {
      auto level = parse_log_level(*text);
      if (!level) return Error{fmt::format("--log-level: {}", level.error().message)};
      options.log_level = *level;
    } else if (flag == "--leader-elect") {
      if (*text != "true" && *text != "false") return Error{"--leader-elect must be true or false"};
      options.leader_elect = *text == "true";
    } else if (flag == "--workers") {
      int workers = 0;
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), workers);
      if (ec != std::errc() || end != text->data() + text->size() || workers < 1 || workers > 64) {
        return Error{"--workers must be a number from 1 to 64"};
      }
      options.workers = workers;
    } else if (flag == "--namespace-selector") {
      auto selector = parse_label_selector(*text);
      if (!selector)
        return Error{fmt::format("--namespace-selector: {}", selector.error().message)};
      options.namespace_selector = std::move(*selector);
    } else if (flag == "--kube-api-qps" || flag == "--kube-api-burst") {
      int number = 0;
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
      if (ec != std::errc() || end != text->data() + text->size() || number < 1 || number > 10000) {
        return Error{fmt::format("{} must be a number from 1 to 10000", flag)};
      }
      if (flag == "--kube-api-qps") {
        options.kube_api_qps = number;
      } else {
        options.kube_api_burst = number;
      }
    } else {
      return Error{fmt::format("unknown flag {:?} (see --help)", flag)};
    }
  }
  return options;
}

}  // namespace weft::op
