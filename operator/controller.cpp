#include "operator/controller.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "weft/constants.h"

namespace weft::op {

Controller::Controller(std::shared_ptr<kube::Client> client, Logger& logger,
                       OperatorMetrics& metrics, ControllerOptions options)
    : client_(std::move(client)),
      logger_(logger),
      metrics_(metrics),
      options_(std::move(options)),
      queue_(clock_, BackoffSettings{std::chrono::milliseconds(50), std::chrono::seconds(60), 0.5}),
      writer_(client_, options_.field_manager),
      reconciler_(
          caches_, writer_, logger_, metrics_,
          ReconcilerOptions{.namespace_selector = options_.namespace_selector,
                            .may_write = options_.may_write,
                            .now = now_rfc3339,
                            .mtls_across_namespaces = options_.mtls_across_namespaces,
                            .export_limits = options_.export_limits,
                            .export_propagation_interval = options_.export_propagation_interval,
                            .proxy_health = options_.proxy_health,
                            .proxy_health_write_interval = options_.proxy_health_write_interval},
          [this](const std::string& key) { queue_.add(key); }) {
  caches_.control_plane_ns = options_.control_plane_ns;
  caches_.trust_domain = options_.trust_domain;
  caches_.default_inbound_policy = options_.default_inbound_policy;
  RunnerOptions runner_options;
  runner_options.workers = options_.workers;
  runner_options.resync_period = options_.resync_period;
  runner_options.all_keys = [this] { return all_namespaces(); };
  // "<ns>" and "status/<ns>" read and write the same namespace's state
  // (metric series, write memory): one at a time.
  runner_options.group_of = [](const std::string& key) { return parse_queue_key(key).ns; };
  runner_options.on_reconciled = [this](const ReconcileReport& report) {
    report_reconcile(logger_, metrics_, report);
  };
  runner_ = std::make_unique<Runner>(
      queue_, [this](const std::string& key) { return reconciler_.reconcile(key); },
      std::move(runner_options));
}

Controller::~Controller() {
  stop();
}

template <typename T>
void Controller::watch(const kube::ResourceType& type, Store<T>& store,
                       T (*parse)(const nlohmann::json&), WatchScope scope) {
  const bool is_namespace = !type.namespaced;
  kube::WatcherOptions options;
  options.label_selector = std::move(scope.label_selector);
  options.field_selector = std::move(scope.field_selector);
  options.ns = std::move(scope.ns);
  options.on_error = [this, plural = type.plural, group = type.group](const kube::ApiError& why) {
    // A 404 on our own group: the usual cause is the operator started before
    // `kubectl apply -f crds/`.
    const bool crd_missing =
        why.kind == kube::ErrorKind::kNotFound && group == kube::resources::mesh_routes().group;
    logger_.warn(
        crd_missing
            ? "watch restarting with a relist: is the CRD installed? (kubectl apply -f crds/)"
            : "watch restarting with a relist",
        {{"resource", plural}, {"error", why.message}});
  };
  auto consumer = [this, &store, parse, is_namespace, every_namespace = scope.every_namespace,
                   after_change = std::move(scope.after_change)](kube::WatcherEvent&& event) {
    const auto key_of = [](const T& object) { return ObjectKey{object.meta.ns, object.meta.name}; };
    // Every document depends on this object: every namespace is reconciled again.
    const auto enqueue_all = [&] {
      if (every_namespace) {
        for (const auto& ns : all_namespaces()) queue_.add(ns);
      }
      if (after_change) after_change();
    };
    switch (event.type) {
      case kube::WatcherEventType::kRestarted: {
        typename Store<T>::Map all;
        for (const auto& object : event.objects) {
          auto parsed = std::make_shared<const T>(parse(object));
          all[key_of(*parsed)] = std::move(parsed);
        }
        // Every namespace that had or has an object may have changed.
        std::set<ObjectKey> touched;
        for (const auto& [key, value] : *store.snapshot()) touched.insert(key);
        for (const auto& [key, value] : all) touched.insert(key);
        store.replace(std::move(all));
        std::set<std::string> namespaces;
        for (const auto& key : touched) namespaces.insert(is_namespace ? key.name : key.ns);
        if (!every_namespace) {
          for (const auto& ns : namespaces) queue_.add(ns);
        }
        enqueue_all();
        break;
      }
      case kube::WatcherEventType::kAdded:
      case kube::WatcherEventType::kModified: {
        auto parsed = std::make_shared<const T>(parse(event.object));
        const auto key = key_of(*parsed);
        store.upsert(key, std::move(parsed));
        if (!every_namespace) queue_.add(is_namespace ? key.name : key.ns);
        enqueue_all();
        break;
      }
      case kube::WatcherEventType::kDeleted: {
        const T parsed = parse(event.object);
        const auto key = key_of(parsed);
        store.erase(key);
        if (!every_namespace) queue_.add(is_namespace ? key.name : key.ns);
        enqueue_all();
        break;
      }
    }
  };
  auto watcher = std::make_unique<kube::Watcher>(client_, type, std::move(options), consumer);
  watchers_.emplace_back(type.plural, std::move(watcher));
}

void Controller::start_watches() {
  namespace r = kube::resources;
  watch(r::namespaces(), caches_.namespaces, &parse_namespace);
  watch(r::services(), caches_.services, &parse_service);
  watch(r::endpoint_slices(), caches_.endpoint_slices, &parse_endpoint_slice);
  watch(r::pods(), caches_.pods, &parse_pod);
  watch(r::mesh_routes(), caches_.routes, &parse_mesh_route);
  watch(r::mesh_policies(), caches_.policies, &parse_mesh_policy);
  // What we generate, so that a deleted or edited one is written again at once.
  // By name: the API server authorizes a list or watch with a metadata.name
  // field selector against the ClusterRole's resourceNames, so the operator
  // needs (and has) no right to read any other ConfigMap or RoleBinding.
  const std::string ours = fmt::format("{}={}", kManagedByLabel, kOperatorName);
  watch(r::config_maps(), caches_.config_maps, &parse_config_map,
        {.label_selector = ours,
         .field_selector = fmt::format("metadata.name={}", kProxyConfigMapName)});
  watch(role_bindings(), caches_.role_bindings, &parse_rbac,
        {.label_selector = ours,
         .field_selector = fmt::format("metadata.name={}", kProxyConfigReaderName)});
  watch(r::config_maps(), caches_.proxy_health_maps, &parse_proxy_health_map,
        {.label_selector = ours,
         .field_selector = fmt::format("metadata.name={}", kProxyHealthConfigMapName)});
  // The trust bundle weft-identity publishes, by name in the control plane's
  // namespace (a Role there grants exactly that name). Every document carries
  // it, so a change re-renders every namespace.
  watch(r::config_maps(), caches_.trust_anchors, &parse_trust_anchors,
        {.field_selector = fmt::format("metadata.name={}", kTrustAnchorsConfigMapName),
         .ns = options_.control_plane_ns,
         .every_namespace = true,
         .after_change = [this] { report_identity(); }});
  for (auto& [name, watcher] : watchers_) watcher->start();
}

bool Controller::caches_synced() const {
  if (watchers_.empty()) return false;
  for (const auto& [name, watcher] : watchers_) {
    if (!watcher->synced()) return false;
  }
  return true;
}

bool Controller::wait_synced(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& [name, watcher] : watchers_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !watcher->wait_synced(left)) return false;
  }
  return true;
}

void Controller::start_workers() {
  runner_->resync();
  runner_->start();
}

void Controller::stop() {
  if (stopped_.exchange(true)) return;
  client_->shutdown();  // a request throttled by the server gives up now
  runner_->stop();      // reconciles in flight finish first
  for (auto& [name, watcher] : watchers_) watcher->stop();
}

std::vector<std::string> Controller::all_namespaces() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : *caches_.namespaces.snapshot()) out.push_back(key.name);
  return out;
}

void Controller::refresh_metrics() {
  metrics_.queue_depth.set(static_cast<double>(queue_.depth()));
  metrics_.caches_synced.set(caches_synced() ? 1 : 0);
  std::lock_guard lock(restarts_mutex_);  // two scrapes may run at once
  for (const auto& [name, watcher] : watchers_) {
    const auto now = watcher->restarts();
    auto& seen = restarts_seen_[name];
    if (now > seen) metrics_.watch_restarts.with_labels({name}).inc(now - seen);
    seen = now;
  }
}

void Controller::report_identity() {
  const IdentityState state = caches_.identity();
  metrics_.set_identity_status(state.status);
  std::lock_guard lock(identity_mutex_);
  if (identity_seen_ && identity_seen_->status == state.status &&
      identity_seen_->config == state.config && identity_seen_->problem == state.problem) {
    return;
  }
  identity_seen_ = state;
  if (state.config) {
    logger_.info("trust anchors found: documents carry identity, meshed endpoints use mTLS",
                 {{"trustDomain", state.config->trust_domain},
                  {"bytes", state.config->trust_anchors_pem.size()}});
  } else {
    logger_.warn("no usable trust anchors: documents carry no identity, the mesh runs in plaintext",
                 {{"state", std::string(to_string(state.status))}, {"reason", state.problem}});
  }
}

Result<Action> Controller::reconcile(const std::string& key) {
  return reconciler_.reconcile(key);
}

}  // namespace weft::op
