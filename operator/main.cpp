// weft-operator: wires the layers together (docs/operator.md). Everything it
// does is in the files next to this one; this is only the assembly and the
// process lifecycle: flags → client → caches → leader election → workers, and
// on SIGTERM: finish the reconcile in flight, release the Lease, exit 0.

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>

#include "operator/controller.h"
#include "operator/leader_election.h"
#include "operator/operator_metrics.h"
#include "operator/options.h"
#include "weft/http/server.h"
#include "weft/kube/client.h"
#include "weft/kube/config.h"
#include "weft/log.h"
#include "weft/metrics.h"
#include "weft/signals.h"

namespace {

using namespace weft;

std::string make_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    std::snprintf(host, 8, "unknown");
  std::random_device random;
  return fmt::format("{}_{:08x}", host, random());
}

Result<std::unique_ptr<http::Server>> serve(const op::BindAddress& address, http::Routes routes,
                                            Logger& logger, const char* what) {
  http::ServerOptions options;
  options.address = address.host;
  options.port = address.port;
  options.threads = 1;
  options.logger = &logger;
  auto server = http::Server::start(options, std::move(routes));
  if (server) {
    logger.info("serving",
                {{"endpoints", what}, {"address", address.host}, {"port", (*server)->port()}});
  }
  return server;
}

int run(const op::OperatorOptions& flags, const StopSignals& stop_signals) {
  Logger logger("operator", flags.log_level);
  auto config = kube::load_default_config(flags.kubeconfig);
  if (!config) {
    logger.error("cannot load the Kubernetes client configuration",
                 {{"error", config.error().message}});
    return 2;
  }
  config->user_agent = "weft-operator";
  config->qps = flags.kube_api_qps;
  config->burst = flags.kube_api_burst;
  // Two clients: the controller's is shut down first on SIGTERM (a throttled
  // write gives up at once), the elector's still releases the Lease; and Lease
  // renewals never queue behind a burst of reconcile writes for rate tokens.
  auto client = kube::Client::from_config(*config);
  auto election_client = kube::Client::from_config(*config);
  if (!client || !election_client) {
    logger.error("cannot create the Kubernetes client",
                 {{"error", (client ? election_client : client).error().message}});
    return 2;
  }
  logger.info("starting", {{"apiserver", config->server}, {"config", config->source}});

  Registry registry;
  op::OperatorMetrics metrics(registry);
  std::atomic<bool> leading{!flags.leader_elect};
  op::ControllerOptions controller_options;
  controller_options.workers = flags.workers;
  controller_options.namespace_selector = flags.namespace_selector;
  controller_options.may_write = [&leading] { return leading.load(); };
  controller_options.control_plane_ns = flags.lease_namespace;
  controller_options.trust_domain = flags.trust_domain;
  controller_options.mtls_across_namespaces = flags.mtls_across_namespaces;
  controller_options.default_inbound_policy = flags.default_inbound_policy;
  controller_options.export_limits = {
      .max_services = static_cast<std::size_t>(flags.max_exported_services),
      .max_ports = static_cast<std::size_t>(flags.max_exported_ports)};
  controller_options.export_propagation_interval = flags.export_propagation_interval;
  controller_options.proxy_health = {flags.proxy_version, flags.proxy_restart_window,
                                     flags.proxy_event_interval, flags.proxy_event_delay};
  controller_options.proxy_health_write_interval = flags.proxy_health_write_interval;
  op::Controller controller(*client, logger, metrics, controller_options);

  std::vector<std::unique_ptr<http::Server>> servers;
  http::Routes health_routes;
  health_routes["/healthz"] = [](const http::Request&) { return http::Response{200, "ok\n"}; };
  health_routes["/readyz"] = [&controller](const http::Request&) {
    return controller.caches_synced() ? http::Response{200, "ok\n"}
                                      : http::Response{503, "caches not synced\n"};
  };
  http::Routes metrics_routes;
  metrics_routes["/metrics"] = [&controller, &registry](const http::Request&) {
    controller.refresh_metrics();
    return http::Response{200, registry.expose(), std::string(kPrometheusContentType)};
  };
  for (auto& [address, routes, what] : {std::tuple{flags.health, health_routes, "/healthz /readyz"},
                                        std::tuple{flags.metrics, metrics_routes, "/metrics"}}) {
    if (!address) continue;
    auto server = serve(*address, routes, logger, what);
    if (!server) {
      logger.error("cannot serve", {{"endpoints", what}, {"error", server.error().message}});
      return 2;
    }
    servers.push_back(std::move(*server));
  }

  controller.start_watches();
  std::atomic<bool> lost{false};
  // Waits for the caches, then starts the workers. Not on the elector's thread,
  // which must keep renewing the Lease meanwhile.
  std::jthread starter;
  std::unique_ptr<op::LeaderElector> elector;
  if (flags.leader_elect) {
    op::LeaderElectionOptions election;
    election.ns = flags.lease_namespace;
    election.identity = make_identity();
    elector = std::make_unique<op::LeaderElector>(*election_client, election, logger);
    elector->start(
        [&] {
          leading = true;
          metrics.leader.set(1);
          starter = std::jthread([&controller, &leading](std::stop_token stop) {
            // Reconcile from complete caches, never from a partial list.
            while (!controller.wait_synced(std::chrono::seconds(1))) {
              if (stop.stop_requested() || !leading) return;
            }
            controller.start_workers();
          });
        },
        [&] {
          leading = false;
          metrics.leader.set(0);
          lost = true;
        });
  } else {
    metrics.leader.set(1);
    controller.wait_synced(std::chrono::seconds(60));
    controller.start_workers();
  }

  // Signals are blocked in every thread (see main); only this loop takes them.
  std::optional<int> signal;
  while (!lost && !signal) signal = stop_signals.wait_for(std::chrono::milliseconds(200));

  if (lost) {
    logger.error("leadership lost; exiting so that a fresh process campaigns again");
    controller.stop();
    return 1;
  }
  logger.info("shutting down", {{"signal", signal_name(*signal)}});
  if (starter.joinable()) {
    starter.request_stop();
    starter.join();
  }
  controller.stop();  // the reconcile in flight finishes first
  if (elector) elector->stop_and_release();
  for (auto& server : servers) server->stop();
  logger.info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = op::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) {
    std::fprintf(stderr, "weft-operator: %s (see --help)\n", flags.error().message.c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(op::usage().c_str(), stdout);
    return 0;
  }
  // Block SIGTERM/SIGINT before any thread starts, so that they inherit the
  // mask and only the main loop receives them.
  const StopSignals stop_signals;
  return run(*flags, stop_signals);
}
