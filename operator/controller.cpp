#include "operator/controller.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "weft/constants.h"

namespace weft::op {
namespace {

using nlohmann::json;

// kube::resources has no RBAC types yet; they are only used here.
const kube::ResourceType& roles() {
  static const kube::ResourceType type{"rbac.authorization.k8s.io", "v1", "Role", "roles", true};
  return type;
}
const kube::ResourceType& role_bindings() {
  static const kube::ResourceType type{"rbac.authorization.k8s.io", "v1", "RoleBinding",
                                       "rolebindings", true};
  return type;
}

std::string now_rfc3339() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", utc);
}

// The status fields that matter for "did it change" (not the transition times,
// which a stale cache would make differ).
std::string status_fingerprint(const DesiredStatus& status) {
  json patch = status_patch(status);
  for (auto& condition : patch["status"]["conditions"]) condition.erase("lastTransitionTime");
  return patch.dump();
}

// Queue keys: "<namespace>" reconciles the ConfigMap, "status/<namespace>" the
// statuses (namespace names cannot contain '/').
constexpr std::string_view kStatusKeyPrefix = "status/";

}  // namespace

Controller::Controller(std::shared_ptr<kube::Client> client, Logger& logger,
                       OperatorMetrics& metrics, ControllerOptions options)
    : client_(std::move(client)),
      logger_(logger),
      metrics_(metrics),
      options_(std::move(options)),
      queue_(clock_,
             BackoffSettings{std::chrono::milliseconds(50), std::chrono::seconds(60), 0.5}) {
  RunnerOptions runner_options;
  runner_options.workers = options_.workers;
  runner_options.resync_period = options_.resync_period;
  runner_options.all_keys = [this] { return all_namespaces(); };
  runner_options.on_reconciled = [this](const ReconcileReport& report) {
    const std::string kind = report.key.starts_with(kStatusKeyPrefix) ? "Status" : "Namespace";
    metrics_.reconciles.with_labels({kind}).inc();
    metrics_.reconcile_duration.with_labels({kind}).observe(
        std::chrono::duration<double>(report.duration).count());
    if (report.error) {
      metrics_.reconcile_errors.with_labels({kind}).inc();
      logger_.warn("reconcile failed; retrying with backoff",
                   {{"namespace", report.key}, {"error", report.error->message}});
    }
  };
  runner_ = std::make_unique<Runner>(
      queue_, [this](const std::string& ns) { return reconcile(ns); }, std::move(runner_options));
}

Controller::~Controller() {
  stop();
}

template <typename T>
void Controller::watch(const kube::ResourceType& type, Store<T>& store,
                       T (*parse)(const nlohmann::json&), std::string label_selector) {
  const bool is_namespace = !type.namespaced;
  kube::WatcherOptions options;
  options.label_selector = std::move(label_selector);
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
  auto consumer = [this, &store, parse, is_namespace](kube::WatcherEvent&& event) {
    const auto key_of = [](const T& object) { return ObjectKey{object.meta.ns, object.meta.name}; };
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
        for (const auto& ns : namespaces) queue_.add(ns);
        break;
      }
      case kube::WatcherEventType::kAdded:
      case kube::WatcherEventType::kModified: {
        auto parsed = std::make_shared<const T>(parse(event.object));
        const auto key = key_of(*parsed);
        store.upsert(key, std::move(parsed));
        enqueue_namespace_of(key, is_namespace);
        break;
      }
      case kube::WatcherEventType::kDeleted: {
        const T parsed = parse(event.object);
        const auto key = key_of(parsed);
        store.erase(key);
        enqueue_namespace_of(key, is_namespace);
        break;
      }
    }
  };
  auto watcher = std::make_unique<kube::Watcher>(client_, type, std::move(options), consumer);
  watchers_.emplace_back(type.plural, std::move(watcher));
}

void Controller::enqueue_namespace_of(const ObjectKey& key, bool is_namespace) {
  queue_.add(is_namespace ? key.name : key.ns);
}

void Controller::start_watches() {
  namespace r = kube::resources;
  watch(r::namespaces(), namespaces_, &parse_namespace);
  watch(r::services(), services_, &parse_service);
  watch(r::endpoint_slices(), endpoint_slices_, &parse_endpoint_slice);
  watch(r::pods(), pods_, &parse_pod);
  watch(r::mesh_routes(), routes_, &parse_mesh_route);
  watch(r::mesh_policies(), policies_, &parse_mesh_policy);
  watch(r::config_maps(), config_maps_, &parse_config_map,
        fmt::format("{}={}", kManagedByLabel, kOperatorName));
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
  runner_->stop();  // reconciles in flight finish first
  for (auto& [name, watcher] : watchers_) watcher->stop();
}

bool Controller::selected(const NamespaceModel& ns) const {
  for (const auto& [key, value] : options_.namespace_selector) {
    const auto it = ns.meta.labels.find(key);
    if (it == ns.meta.labels.end() || it->second != value) return false;
  }
  return true;
}

std::vector<std::string> Controller::all_namespaces() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : *namespaces_.snapshot()) out.push_back(key.name);
  return out;
}

NamespaceInput Controller::gather(const std::string& ns) const {
  NamespaceInput input;
  input.ns = ns;
  const auto namespaces = namespaces_.snapshot();
  if (auto it = namespaces->find(ObjectKey{"", ns}); it != namespaces->end()) {
    input.namespace_object = it->second;
  }
  input.services = in_namespace<ServiceModel>(*services_.snapshot(), ns);
  input.endpoint_slices = in_namespace<EndpointSliceModel>(*endpoint_slices_.snapshot(), ns);
  input.pods = in_namespace<PodModel>(*pods_.snapshot(), ns);
  input.routes = in_namespace<MeshRouteModel>(*routes_.snapshot(), ns);
  input.policies = in_namespace<MeshPolicyModel>(*policies_.snapshot(), ns);
  return input;
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

Result<Action> Controller::reconcile(const std::string& key) {
  if (!options_.may_write()) return Action::await_change();
  const bool status_only = key.starts_with(kStatusKeyPrefix);
  const std::string ns = status_only ? key.substr(kStatusKeyPrefix.size()) : key;
  const NamespaceInput input = gather(ns);
  if (input.namespace_object && !selected(*input.namespace_object)) {
    return Action::await_change();  // another operator's (or nobody's) namespace
  }
  if (!input.namespace_object || input.namespace_object->meta.deleting) {
    // Deleted (or being deleted) namespace: the API server deletes what it
    // contained and refuses new content.
    std::lock_guard lock(written_mutex_);
    written_config_.erase(ns);
    rbac_applied_.erase(ns);
    too_large_.erase(ns);
    metrics_.config_bytes.remove({ns});
    return Action::await_change();
  }
  const NamespacePlan plan = plan_namespace(input, now_rfc3339());

  if (status_only) {
    const std::string error = write_statuses(ns, input, plan);
    if (!error.empty()) return Error{error};
    return Action::await_change();
  }
  std::string error;
  if (plan.meshed) {
    metrics_.config_bytes.with_labels({ns}).set(static_cast<double>(plan.config_bytes));
    error = apply_config(*input.namespace_object, plan);
  } else {
    metrics_.config_bytes.remove({ns});
    error = delete_config(ns);
  }
  // Statuses are written under their own key, queued behind the ConfigMaps of
  // other namespaces: at start-up every proxy gets its configuration before
  // the (many more) status writes use the client's request budget.
  const bool any_status = std::any_of(plan.status.statuses.begin(), plan.status.statuses.end(),
                                      [](const DesiredStatus& status) { return status.changed; });
  if (any_status) queue_.add(std::string(kStatusKeyPrefix) + ns);
  if (!error.empty()) return Error{error};
  return Action::await_change();
}

std::string Controller::apply_config(const NamespaceModel& namespace_object,
                                     const NamespacePlan& plan) {
  const std::string& ns = namespace_object.meta.name;
  if (plan.too_large) {
    metrics_.config_map_writes.with_labels({"too_large"}).inc();
    bool first_time = false;
    {
      std::lock_guard lock(written_mutex_);
      first_time = too_large_.insert(ns).second;
    }
    logger_.error(
        "proxy configuration too large; not written",
        {{"namespace", ns}, {"bytes", plan.config_bytes}, {"limit", kProxyConfigMaxBytes}});
    if (first_time) {
      raise_event(ns, "Namespace", "v1", ns, namespace_object.meta.uid, "Warning",
                  std::string(reason::kConfigTooLarge), plan.too_large_message);
    }
    return "";
  }
  {
    std::lock_guard lock(written_mutex_);
    too_large_.erase(ns);
  }
  const auto& config = *plan.config;
  const auto cached_map = config_maps_.snapshot();
  const auto cached = cached_map->find(ObjectKey{ns, std::string(kProxyConfigMapName)});
  const std::string cached_version =
      cached == cached_map->end() ? "" : cached->second->meta.resource_version;
  bool unchanged = cached != cached_map->end() && cached->second->document == config.text &&
                   cached->second->hash == config.hash;
  bool rbac_done = false;
  {
    std::lock_guard lock(written_mutex_);
    const auto it = written_config_.find(ns);
    // Only while a ConfigMap is cached: with none cached (a deletion by someone
    // else after our create) the ConfigMap must be written again.
    if (!unchanged && it != written_config_.end() && !cached_version.empty() &&
        it->second.resource_version_before == cached_version &&
        it->second.fingerprint == config.hash) {
      unchanged = true;  // our write is not in the cache yet
    }
    rbac_done = rbac_applied_.contains(ns);
  }

  if (!rbac_done) {
    kube::ApplyOptions apply{options_.field_manager, true, false};
    auto role = client_->apply(roles(), desired_role(namespace_object), apply);
    if (!role) return role.error().message;
    auto binding = client_->apply(role_bindings(), desired_role_binding(namespace_object), apply);
    if (!binding) return binding.error().message;
    std::lock_guard lock(written_mutex_);
    rbac_applied_.insert(ns);
  }

  if (unchanged) {
    metrics_.config_map_writes_skipped.inc();
    return "";
  }
  if (!options_.may_write()) return "";
  auto applied =
      client_->apply(kube::resources::config_maps(), desired_config_map(namespace_object, config),
                     kube::ApplyOptions{options_.field_manager, true, false});
  if (!applied) {
    if (applied.error().is(kube::ErrorKind::kConflict)) metrics_.write_conflicts.inc();
    return applied.error().message;
  }
  metrics_.config_map_writes.with_labels({"applied"}).inc();
  logger_.info("proxy configuration written",
               {{"namespace", ns}, {"hash", config.hash}, {"bytes", config.text.size()}});
  std::lock_guard lock(written_mutex_);
  written_config_[ns] = {cached_version, config.hash};
  return "";
}

std::string Controller::delete_config(const std::string& ns) {
  const auto cached_map = config_maps_.snapshot();
  const auto cached = cached_map->find(ObjectKey{ns, std::string(kProxyConfigMapName)});
  {
    std::lock_guard lock(written_mutex_);
    written_config_.erase(ns);
    rbac_applied_.erase(ns);
    too_large_.erase(ns);
  }
  if (cached == cached_map->end()) return "";
  if (!options_.may_write()) return "";
  kube::DeleteOptions options;
  options.precondition_uid = cached->second->meta.uid;
  auto removed = client_->remove(kube::resources::config_maps(), ns, kProxyConfigMapName, options);
  if (!removed && !removed.is_error(kube::ErrorKind::kNotFound)) return removed.error().message;
  // The proxies' read access goes with the ConfigMap.
  for (const auto* type : {&roles(), &role_bindings()}) {
    auto gone = client_->remove(*type, ns, kProxyConfigReaderName);
    if (!gone && !gone.is_error(kube::ErrorKind::kNotFound)) return gone.error().message;
  }
  metrics_.config_map_writes.with_labels({"deleted"}).inc();
  logger_.info("namespace no longer meshed: proxy configuration deleted", {{"namespace", ns}});
  return "";
}

std::string Controller::write_statuses(const std::string& ns, const NamespaceInput& input,
                                       const NamespacePlan& plan) {
  std::string first_error;
  std::set<std::string> written_uids;
  for (const auto& status : plan.status.statuses) {
    if (!status.changed) continue;
    const auto& type = status.kind == MeshKind::kMeshRoute ? kube::resources::mesh_routes()
                                                           : kube::resources::mesh_policies();
    std::string cached_version;
    for (const auto& route : input.routes) {
      if (status.kind == MeshKind::kMeshRoute && route->meta.uid == status.uid) {
        cached_version = route->meta.resource_version;
      }
    }
    for (const auto& policy : input.policies) {
      if (status.kind == MeshKind::kMeshPolicy && policy->meta.uid == status.uid) {
        cached_version = policy->meta.resource_version;
      }
    }
    const std::string fingerprint = status_fingerprint(status);
    {
      std::lock_guard lock(written_mutex_);
      const auto it = written_status_.find(status.uid);
      if (it != written_status_.end() && it->second.resource_version_before == cached_version &&
          it->second.fingerprint == fingerprint) {
        continue;  // written already; the watch has not shown it yet
      }
    }
    if (!options_.may_write()) return "";
    json patch = status_patch(status);
    // Precondition: the object as cached, so a concurrent writer's change is
    // never overwritten blindly (409, then retried from a fresh cache).
    patch["metadata"] = {{"resourceVersion", cached_version}, {"uid", status.uid}};
    auto result = client_->patch_status(type, ns, status.name, kube::PatchType::kMerge, patch,
                                        kube::WriteOptions{options_.field_manager, false});
    if (!result) {
      if (result.is_error(kube::ErrorKind::kConflict)) metrics_.write_conflicts.inc();
      if (result.is_error(kube::ErrorKind::kNotFound)) continue;  // deleted meanwhile
      if (first_error.empty()) first_error = result.error().message;
      continue;
    }
    metrics_.status_writes.with_labels({std::string(to_string(status.kind))}).inc();
    written_uids.insert(status.uid);
    std::lock_guard lock(written_mutex_);
    written_status_[status.uid] = {cached_version, fingerprint};
  }
  for (const auto& event : plan.status.events) {
    if (!written_uids.contains(event.uid)) continue;  // raised with the status change only
    raise_event(ns, std::string(to_string(event.kind)), "weft.io/v1alpha1", event.name, event.uid,
                event.type, event.reason, event.message);
  }
  return first_error;
}

void Controller::raise_event(const std::string& ns, const std::string& kind,
                             const std::string& api_version, const std::string& name,
                             const std::string& uid, const std::string& type,
                             const std::string& reason, const std::string& message) {
  const std::string now = now_rfc3339();
  json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      // Events about a cluster-scoped object live in "default".
      {"metadata",
       {{"generateName", name + "."}, {"namespace", kind == "Namespace" ? "default" : ns}}},
      {"involvedObject",
       {{"apiVersion", api_version},
        {"kind", kind},
        {"name", name},
        {"namespace", kind == "Namespace" ? "" : ns},
        {"uid", uid}}},
      {"reason", reason},
      {"message", message.substr(0, 1024)},
      {"type", type},
      {"source", {{"component", kOperatorName}}},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1}};
  auto created = client_->create(kube::resources::events(), event);
  if (!created) {
    logger_.warn("could not raise an Event", {{"namespace", ns},
                                              {"object", name},
                                              {"reason", reason},
                                              {"error", created.error().message}});
    return;
  }
  metrics_.events.with_labels({reason}).inc();
}

}  // namespace weft::op
