// weft-proxy: thin wiring of the layers (settings -> configuration ->
// listeners -> workers), then a graceful shutdown on SIGTERM.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "proxy/admin/admin_server.h"
#include "proxy/config/api_watcher.h"
#include "proxy/config/config_store.h"
#include "proxy/config/file_watcher.h"
#include "proxy/config/pod_labels_source.h"
#include "proxy/core/connection.h"
#include "proxy/core/listener.h"
#include "proxy/core/worker.h"
#include "proxy/core/worker_pool.h"
#include "proxy/identity/credentials.h"
#include "proxy/identity/identity_client.h"
#include "proxy/metrics.h"
#include "proxy/settings.h"
#include "proxy/tls/legacy_ec_keys.h"
#include "proxy/tls/test_credentials.h"
#include "proxy/wait_ready.h"
#include "weft/file.h"
#include "weft/signals.h"

namespace {

// Exit codes, documented in docs/proxy.md.
constexpr int kExitUsage = 2;
constexpr int kExitBadConfig = 3;
constexpr int kExitCannotListen = 4;

}  // namespace

int main(int argc, char** argv) {
  // What the identity client logs its first certificate against (how long
  // a starting pod waits for mTLS).
  const auto process_started = std::chrono::steady_clock::now();
  using namespace weft;
  using namespace weft::proxy;

  if (argc >= 2 && std::string_view(argv[1]) == "wait-ready") {
    bool help = false;
    auto wait = parse_wait_ready_settings(std::vector<std::string>(argv + 2, argv + argc),
                                          process_environment(), &help);
    if (!wait.has_value()) {
      if (help) {
        std::fputs(wait.error().message.c_str(), stdout);
        return 0;
      }
      std::fprintf(stderr, "weft-proxy wait-ready: %s (see weft-proxy wait-ready --help)\n",
                   wait.error().message.c_str());
      return kExitUsage;
    }
    return wait_ready(wait.value());
  }

  bool help = false;
  auto parsed =
      parse_settings(std::vector<std::string>(argv + 1, argv + argc), process_environment(), &help);
  if (!parsed.has_value()) {
    if (help) {
      std::fputs(parsed.error().message.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "weft-proxy: %s (see --help)\n", parsed.error().message.c_str());
    return kExitUsage;
  }
  const Settings settings = parsed.value();
  Logger log("proxy", settings.log_level);
  // Before any key is made or read, and before any thread.
  if (settings.openssl_legacy_ec_keys) {
    const LegacyEcKeys state = use_legacy_ec_keys();
    if (state == LegacyEcKeys::kFailed) {
      log.warn("OpenSSL's built-in EC code for EC keys could not be set: its default path is used",
               {{"state", std::string(to_string(state))}});
    } else {
      log.info("OpenSSL's built-in EC code for EC keys",
               {{"state", std::string(to_string(state))}});
    }
  }
  Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache metrics_cache(
      metrics, {.max_dynamic_targets = settings.metrics_max_dynamic_targets,
                .dynamic_target_expiry = settings.metrics_target_expiry,
                .max_identities_per_target = settings.metrics_max_identities_per_target});
  ConfigStore store(metrics, log);

  // The document is validated before any port is bound.
  const Result<std::string> initial = read_file(settings.config_path);
  if (initial) {
    std::string error;
    if (store.offer(*initial, ConfigSource::kFile, &error) == OfferResult::kRefused) {
      std::fprintf(stderr, "weft-proxy: invalid configuration %s: %s\n",
                   settings.config_path.c_str(), error.c_str());
      return kExitBadConfig;
    }
  } else {
    log.warn("no configuration document yet: passing traffic through until one appears",
             {{"path", settings.config_path}});
  }
  // The pod's labels, before any connection: a policy selecting the pod by
  // its labels holds from the first one.
  std::optional<std::string> initial_labels;
  if (!settings.pod_labels_file.empty()) {
    store.expect_pod_labels();
    auto labels = read_file(settings.pod_labels_file);
    if (labels) {
      initial_labels = *labels;
      offer_pod_labels(*labels, store, metrics, log);
    } else {
      log.warn("no pod labels file yet: inbound traffic is denied (probes aside) until it is read",
               {{"path", settings.pod_labels_file}});
    }
  }
  auto api_watcher = ApiWatcher::create(settings, process_environment(), store, log);
  if (!api_watcher.has_value()) {
    std::fprintf(stderr, "weft-proxy: %s\n", api_watcher.error().message.c_str());
    return kExitUsage;
  }

  // Blocked before any thread starts, so that only the wait below takes them.
  const StopSignals stop_signals;
  std::signal(SIGPIPE, SIG_IGN);

  // Destroyed last, so its io_contexts outlive every socket (the listeners',
  // the workers' pooled connections). The coroutines suspended in them go
  // earlier, in pool.stop() below, while the workers and the runtime that
  // their destructors touch (idle list, open-connection count) still exist.
  WorkerPool pool(settings.workers);
  // The admin port's own thread: a /metrics render or a slow admin client
  // never holds a traffic worker.
  WorkerPool admin_pool(1);
  Runtime runtime(settings, store, metrics_cache, log);
  auto own = own_addresses(settings.own_addresses);
  if (!own.has_value()) {
    std::fprintf(stderr, "weft-proxy: %s\n", own.error().message.c_str());
    return kExitUsage;
  }
  runtime.own_addresses = std::move(own.value());
  if (!settings.test_credentials_dir.empty()) {
    auto loaded = load_test_credentials(settings.test_credentials_dir, process_environment());
    if (!loaded.has_value()) {
      std::fprintf(stderr, "weft-proxy: %s\n", loaded.error().message.c_str());
      return kExitUsage;
    }
    runtime.credentials.set(std::move(loaded.value()));
    log.warn("TEST credentials loaded from a folder: never in a pod",
             {{"dir", settings.test_credentials_dir}});
  }
  nlohmann::json own_list = nlohmann::json::array();
  for (const auto& address : runtime.own_addresses.addresses()) {
    own_list.push_back(address.to_string());
  }
  log.info("inbound traffic goes only to the pod's own addresses", {{"addresses", own_list}});
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    workers.push_back(std::make_unique<Worker>(pool.context(i), runtime));
  }
  // The proxy's certificate, key and anchors (identity on: the document
  // carries `identity`): the identity client writes them, the TLS layer reads.
  IdentityMetrics identity_metrics(registry);
  auto identity_options = IdentityClient::options_from(settings);
  identity_options.process_started = process_started;
  IdentityClient identity_client(std::move(identity_options), store, runtime.credentials,
                                 identity_metrics, log);
  std::atomic<bool> ready{false};
  const AdminState admin{store,
                         registry,
                         ready,
                         metrics,
                         &metrics_cache,
                         settings.admin_request_timeout,
                         [&identity_client] { return identity_client.not_ready_reason(); }};

  std::vector<std::unique_ptr<Listener>> listeners;
  for (const auto& [port, name] :
       {std::pair{settings.outbound_port, "outbound"}, std::pair{settings.inbound_port, "inbound"},
        std::pair{settings.admin_port, "admin"}}) {
    auto listener = Listener::bind(std::string_view(name) == "admin" ? admin_pool : pool,
                                   settings.listen_address, port, name);
    if (!listener.has_value()) {
      std::fprintf(stderr, "weft-proxy: %s\n", listener.error().message.c_str());
      return kExitCannotListen;
    }
    listeners.push_back(std::move(listener.value()));
  }
  for (const auto& [listener, traffic, cap] :
       {std::tuple{listeners[0].get(), Direction::kOutbound, settings.max_outbound_connections},
        std::tuple{listeners[1].get(), Direction::kInbound, settings.max_inbound_connections}}) {
    const Direction direction = traffic;
    listener->start(
        [&workers, direction](Socket socket, std::size_t worker, ConnectionSlot slot) {
          serve_connection(*workers[worker], std::move(socket), direction, std::move(slot));
        },
        {.max_connections = cap,
         .on_refused = [&counter = metrics.limit_reached(direction, Limit::kMaxConnections)] {
           counter.inc();
         }});
  }
  listeners[2]->start(
      [&admin](Socket socket, std::size_t, ConnectionSlot slot) {
        serve_admin_connection(admin, std::move(socket), std::move(slot));
      },
      {.max_connections = settings.max_admin_connections,
       .on_refused = [&counter = metrics.admin_connections_refused_total.with_labels({})] {
         counter.inc();
       }});

  FileWatcher file_watcher(
      settings.config_path, initial ? std::optional(*initial) : std::nullopt,
      [&store](const std::string& text) { store.offer(text, ConfigSource::kFile); });
  file_watcher.start();
  std::optional<FileWatcher> labels_watcher;
  if (!settings.pod_labels_file.empty()) {
    labels_watcher.emplace(settings.pod_labels_file, initial_labels,
                           [&store, &metrics, &log](const std::string& text) {
                             offer_pod_labels(text, store, metrics, log);
                           });
    labels_watcher->start();
  }
  // Idle rate-limit buckets forgotten on one worker, every 10 s.
  asio::co_spawn(
      workers[0]->io,
      maintain_rate_limiter(runtime.rate_limiter, metrics.rate_limit_tracked_clients.get(),
                            std::chrono::seconds(10)),
      asio::detached);
  if (api_watcher.value()) api_watcher.value()->start();
  identity_client.start();
  pool.start();
  admin_pool.start();
  ready = true;
  log.info("weft-proxy started", {{"outbound_port", listeners[0]->port()},
                                  {"inbound_port", listeners[1]->port()},
                                  {"admin_port", listeners[2]->port()},
                                  {"workers", settings.workers},
                                  {"config", settings.config_path}});

  const int signal = stop_signals.wait();

  // Graceful shutdown: not ready, no new connections, idle ones closed, and
  // requests in flight get the grace period to finish.
  log.info("shutting down", {{"signal", signal}, {"grace_ms", settings.shutdown_grace.count()}});
  ready = false;
  runtime.draining = true;
  listeners[0]->close();
  listeners[1]->close();
  for (auto& worker : workers) {
    asio::post(worker->io, [&w = *worker] { w.drain(); });
  }
  const auto deadline = std::chrono::steady_clock::now() + settings.shutdown_grace;
  while (runtime.open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto left = runtime.open_connections.load();
  pool.stop();  // the connections left are cut here, not when main returns
  admin_pool.stop();
  log.info("stopped", {{"connections_cut", left}});
  return 0;
}
