// weft-webhook: flags and configuration are parsed and checked first, then the
// sidecar mode resolved, the serving certificate provisioned if asked, and the
// HTTPS server started; SIGTERM or SIGINT stops it gracefully.

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stop_token>
#include <thread>

#include "webhook/cluster.h"
#include "webhook/config.h"
#include "webhook/flags.h"
#include "webhook/service.h"
#include "weft/file.h"
#include "weft/http/server.h"
#include "weft/log.h"
#include "weft/metrics.h"
#include "weft/signals.h"

namespace {

using namespace weft;
using namespace weft::webhook;

Result<InjectorConfig> load_config(const std::string& path) {
  if (path.empty()) return InjectorConfig{};
  auto text = read_file(path);
  if (!text) return Error{"--config: " + text.error().message};
  auto config = parse_config(*text);
  if (!config) return Error{"--config " + path + ": " + config.error().message};
  return config;
}

// Native sidecars need Kubernetes 1.29+: the mode is fixed here, at start.
Result<bool> resolve_sidecar_mode(InjectorConfig& config, const Flags& flags, Logger& logger) {
  if (config.sidecar_mode != SidecarMode::kAuto) return true;
  std::string version = flags.kubernetes_version;
  if (version.empty()) {
    auto discovered = discover_kubernetes_version(flags.kubeconfig);
    if (!discovered) {
      return Error{"sidecarMode auto: cannot ask the API server its version (" +
                   discovered.error().message +
                   "); give --kubernetes-version or set sidecarMode in --config"};
    }
    version = *discovered;
  }
  auto native = supports_native_sidecars(version);
  if (!native) return native.error();
  config.sidecar_mode = *native ? SidecarMode::kNative : SidecarMode::kClassic;
  logger.info("sidecar mode resolved",
              {{"kubernetesVersion", version}, {"mode", *native ? "native" : "classic"}});
  return true;
}

int fail(const std::string& message, int code) {
  std::cerr << "weft-webhook: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Review bodies above 64 KiB get their own mappings, returned to the system
  // when freed: with glibc's sliding threshold they would stay in the heap after
  // a burst, and the resident memory that load shedding watches with them.
  // Two arenas for two server threads, not eight per core.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  mallopt(M_ARENA_MAX, 2);
  // Blocked before any thread starts, so that only the wait below takes them.
  const StopSignals stop_signals;

  auto flags = parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) return fail(flags.error().message + " (see --help)", 2);
  if (flags->help) {
    std::cout << usage();
    return 0;
  }
  Logger logger("webhook", flags->log_level);
  auto config = load_config(flags->config_file);
  if (!config) return fail(config.error().message, 2);
  config->identity_address = resolve_identity_address(
      config->identity_address, [](const char* name) { return std::getenv(name); });
  logger.info("proxies reach weft-identity at", {{"address", config->identity_address}});
  if (auto resolved = resolve_sidecar_mode(*config, *flags, logger); !resolved) {
    return fail(resolved.error().message, 1);
  }

  std::jthread rotation;
  if (flags->provision_certificates) {
    auto provisioner = CertificateProvisioner::create(*flags, logger);
    if (!provisioner) return fail(provisioner.error().message, 1);
    if (auto first = (*provisioner)->reconcile(); !first) {
      return fail("certificate provisioning: " + first.error().message, 1);
    }
    rotation = std::jthread(
        [provisioner = std::move(*provisioner)](std::stop_token stop) { provisioner->run(stop); });
  }

  Registry registry;
  WebhookService service(*config, registry, logger);
  service.report_serving_certificate(flags->tls_cert_file);
  http::ServerOptions options;
  options.address = flags->address;
  options.port = flags->port;
  options.threads = flags->threads;
  options.max_connections = static_cast<std::size_t>(flags->max_connections);
  options.max_connections_per_source = static_cast<std::size_t>(flags->max_connections_per_source);
  options.max_body_bytes = static_cast<std::size_t>(flags->max_review_bytes);
  options.max_body_bytes_in_flight = static_cast<std::size_t>(flags->max_review_bytes_in_flight);
  options.large_body_bytes = static_cast<std::size_t>(flags->large_review_bytes);
  options.max_large_bodies = static_cast<std::size_t>(flags->max_large_reviews);
  options.max_body_bytes_in_flight_per_source =
      static_cast<std::size_t>(flags->max_review_bytes_in_flight_per_source);
  options.max_large_bodies_per_source =
      static_cast<std::size_t>(flags->max_large_reviews_per_source);
  options.shed_resident_bytes = static_cast<std::size_t>(flags->shed_memory_bytes);
  options.tls = http::TlsFiles{flags->tls_cert_file, flags->tls_private_key_file};
  options.logger = &logger;
  options.registry = &registry;
  options.metrics_prefix = "weft_webhook";
  auto server = http::Server::start(options, service.routes());
  if (!server) return fail(server.error().message, 1);
  service.set_ready(true);
  logger.info(
      "listening",
      {{"address", flags->address}, {"port", (*server)->port()}, {"config", to_json(*config)}});

  const int signal = stop_signals.wait();
  logger.info("stopping", {{"signal", signal}});
  service.set_ready(false);
  (*server)->stop();
  rotation = {};  // request stop and join
  logger.info("stopped");
  return 0;
}
