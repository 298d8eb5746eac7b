// weft-identity: options are checked first; then the metrics port starts (so
// /ready can say why issuing waits), the trust chain is read or made, and the
// certificate endpoint starts once its serving certificate exists. SIGTERM or
// SIGINT stops it gracefully.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include "identity/cluster.h"
#include "identity/options.h"
#include "identity/runner.h"
#include "identity/service.h"
#include "weft/http/server.h"
#include "weft/kube/client.h"
#include "weft/log.h"
#include "weft/metrics.h"
#include "weft/signals.h"

namespace {

using namespace weft;
using namespace weft::identity;

int fail(const std::string& message, int code) {
  std::cerr << "weft-identity: " << message << "\n";
  return code;
}

http::ServerOptions server_options(const flags::HostPort& address, Logger& logger,
                                   Registry& registry, std::string prefix) {
  http::ServerOptions options;
  options.address = address.host;
  options.port = address.port;
  options.logger = &logger;
  options.registry = &registry;
  options.metrics_prefix = std::move(prefix);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const StopSignals stop_signals;  // before any thread
  auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) return fail(options.error().message + " (see --help)", 2);
  if (options->help) {
    std::cout << usage();
    return 0;
  }
  Logger logger("identity", options->log_level);

  auto config = kube::load_default_config(options->kubeconfig);
  if (!config) return fail(config.error().message, 1);
  config->qps = options->kube_api_qps;
  config->burst = options->kube_api_burst;
  auto client = kube::Client::from_config(*config);
  if (!client) return fail(client.error().message, 1);

  config->qps = options->review_qps;
  config->burst = options->review_burst;
  // A review worker is held no longer than its caller waits.
  config->request_timeout = options->token_review_timeout;
  config->connect_timeout = std::min(config->connect_timeout, options->token_review_timeout);
  auto review_client = kube::Client::from_config(*config);
  if (!review_client) return fail(review_client.error().message, 1);

  Registry registry;
  KubeTokenReviewer reviewer(*review_client);
  IssuanceOptions issuance;
  issuance.trust_domain = options->trust_domain;
  issuance.max_csr_bytes = static_cast<std::size_t>(options->max_csr_bytes);
  IdentityService service(registry, logger, reviewer, issuance,
                          {.workers = options->max_concurrent_reviews,
                           .queue = options->max_queued_reviews,
                           .timeout = options->token_review_timeout},
                          {.qps = options->review_per_source_qps,
                           .burst = static_cast<double>(options->review_per_source_burst)});
  service.set_review_throttle_source([review_client = *review_client] {
    return std::chrono::duration<double>(review_client->throttled_time()).count();
  });

  auto metrics_server = http::Server::start(
      server_options(options->metrics, logger, registry, "weft_identity_metrics"),
      service.metrics_routes());
  if (!metrics_server) return fail("--metrics: " + metrics_server.error().message, 1);

  Runner runner(*options, *client, service, logger);
  runner.reconcile();
  // The certificate endpoint needs its serving certificate, which needs an
  // issuer: until then only /ready answers (503, with the reason).
  while (!std::filesystem::exists(runner.cert_file()) ||
         !std::filesystem::exists(runner.key_file())) {
    if (auto signal = stop_signals.wait_for(options->resync_interval)) {
      logger.info("stopping", {{"signal", signal_name(*signal)}});
      return 0;
    }
    runner.reconcile();
  }

  http::ServerOptions tls = server_options(options->listen, logger, registry, "weft_identity");
  tls.threads = options->threads;
  tls.tls = http::TlsFiles{runner.cert_file(), runner.key_file()};
  tls.max_body_bytes = static_cast<std::size_t>(options->max_request_bytes);
  tls.max_connections = static_cast<std::size_t>(options->max_connections);
  tls.max_connections_per_source = static_cast<std::size_t>(options->max_connections_per_source);
  auto server = http::Server::start(tls, {}, service.certificate_routes());
  if (!server) return fail("--listen: " + server.error().message, 1);
  logger.info("listening", {{"port", (*server)->port()},
                            {"metricsPort", (*metrics_server)->port()},
                            {"namespace", options->ns},
                            {"trustDomain", options->trust_domain}});

  std::jthread loop([&runner](std::stop_token stop) { runner.run(stop); });
  const int signal = stop_signals.wait();
  logger.info("stopping", {{"signal", signal_name(signal)}});
  service.publish(nullptr, "stopping");
  (*server)->stop();
  loop = {};
  (*metrics_server)->stop();
  logger.info("stopped");
  return 0;
}
