#include "operator/reconciler.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "operator/proxy_health.h"
#include "weft/constants.h"

namespace weft::op {
namespace {

using nlohmann::json;

constexpr std::string_view kStatusKeyPrefix = "status/";

// The status fields that matter for "did it change" (not the transition times,
// which a stale cache would make differ).
std::string status_fingerprint(const DesiredStatus& status) {
  json patch = status_patch(status);
  for (auto& condition : patch["status"]["conditions"]) condition.erase("lastTransitionTime");
  return patch.dump();
}

WriteResult done() {
  return kube::Done{};
}

}  // namespace

std::string now_rfc3339() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", utc);
}

QueueKey parse_queue_key(std::string_view key) {
  if (key.starts_with(kStatusKeyPrefix)) {
    return {std::string(key.substr(kStatusKeyPrefix.size())), true};
  }
  return {std::string(key), false};
}

std::string status_queue_key(std::string_view ns) {
  return fmt::format("{}{}", kStatusKeyPrefix, ns);
}

void report_reconcile(Logger& logger, OperatorMetrics& metrics, const ReconcileReport& report) {
  const QueueKey key = parse_queue_key(report.key);
  const std::string kind = key.status ? "Status" : "Namespace";
  metrics.reconciles.with_labels({kind}).inc();
  metrics.reconcile_duration.with_labels({kind}).observe(
      std::chrono::duration<double>(report.duration).count());
  if (report.error) {
    metrics.reconcile_errors.with_labels({kind}).inc();
    logger.warn("reconcile failed; retrying with backoff",
                {{"namespace", key.ns}, {"key", report.key}, {"error", report.error->message}});
  }
}

Reconciler::Reconciler(const Caches& caches, Writer& writer, Logger& logger,
                       OperatorMetrics& metrics, ReconcilerOptions options,
                       std::function<void(const std::string&)> enqueue)
    : caches_(caches),
      writer_(writer),
      logger_(logger),
      metrics_(metrics),
      options_(std::move(options)),
      enqueue_(std::move(enqueue)),
      proxy_health_(options_.proxy_health) {}

bool Reconciler::selected(const NamespaceModel& ns) const {
  for (const auto& [key, value] : options_.namespace_selector) {
    const auto it = ns.meta.labels.find(key);
    if (it == ns.meta.labels.end() || it->second != value) return false;
  }
  return true;
}

Result<Action> Reconciler::reconcile(const std::string& key) {
  if (!options_.may_write()) return Action::await_change();
  const QueueKey parsed = parse_queue_key(key);
  const std::string& ns = parsed.ns;
  NamespaceInput input = caches_.gather(ns);
  if (input.namespace_object && !selected(*input.namespace_object)) {
    if (!parsed.status && options_.mtls_across_namespaces) {
      if (const auto later = propagate_exports(ns, {})) return Action::requeue(*later);
    }
    return Action::await_change();  // another operator's (or nobody's) namespace
  }
  if (!input.namespace_object || input.namespace_object->meta.deleting) {
    if (!parsed.status && options_.mtls_across_namespaces) {
      if (const auto later = propagate_exports(ns, {})) return Action::requeue(*later);
      if (!input.namespace_object) {
        std::lock_guard lock(exported_mutex_);
        exported_.erase(ns);  // gone, its empty exports propagated
      }
    }
    // Deleted (or being deleted) namespace: the API server deletes what it
    // contained and refuses new content. The namespace key cleans up.
    if (!parsed.status) {
      memory_.forget_namespace(ns);
      metrics_.config_bytes.remove({ns});
      metrics_.exports_left_out.remove({ns});
      forget_proxy_health(ns);
    }
    return Action::await_change();
  }
  // The memory of statuses goes with their MeshRoutes and MeshPolicies.
  std::set<std::string> uids;
  for (const auto& route : input.routes) uids.insert(route->meta.uid);
  for (const auto& policy : input.policies) uids.insert(policy->meta.uid);
  memory_.retain_statuses(ns, uids);

  // When to come back: exports to propagate, proxy health to look at again.
  std::optional<std::chrono::milliseconds> requeue_after;
  if (options_.mtls_across_namespaces) {
    if (!parsed.status) {
      std::size_t left_out = 0;
      auto exports = exported_services(input, options_.export_limits, &left_out);
      metrics_.exports_left_out.with_labels({ns}).set(static_cast<double>(left_out));
      requeue_after = propagate_exports(ns, exports);
    }
    input.other_namespaces = other_namespaces(all_exports(), ns);
  }
  const NamespacePlan plan = plan_namespace(input, options_.now ? options_.now() : now_rfc3339());
  if (parsed.status) {
    auto written = write_statuses(ns, input, plan);
    if (!written) return Error{written.error().message};
    return Action::await_change();
  }
  WriteResult written = done();
  if (plan.other_namespaces_dropped) {
    logger_.warn(
        "proxy configuration too large with the other namespaces' meshed Services: written "
        "without them (calls from here to those Services use plaintext)",
        {{"namespace", ns}, {"services", input.other_namespaces.size()}});
  }
  if (plan.meshed) {
    report_default_policy(*input.namespace_object, plan.default_inbound_policy_problem);
    metrics_.config_bytes.with_labels({ns}).set(static_cast<double>(plan.config_bytes));
    written = apply_config(*input.namespace_object, plan);
    if (written) written = report_proxy_health(*input.namespace_object, input, requeue_after);
  } else {
    metrics_.config_bytes.remove({ns});
    metrics_.exports_left_out.remove({ns});
    forget_proxy_health(ns);
    written = delete_generated(ns);
  }
  // Statuses are written under their own key, queued behind the ConfigMaps of
  // other namespaces: at start-up every proxy gets its configuration before
  // the (many more) status writes use the client's request budget.
  const bool any_status = std::any_of(plan.status.statuses.begin(), plan.status.statuses.end(),
                                      [](const DesiredStatus& status) { return status.changed; });
  if (any_status && enqueue_) enqueue_(status_queue_key(ns));
  if (!written) return Error{written.error().message};
  return requeue_after ? Action::requeue(*requeue_after) : Action::await_change();
}

std::map<std::string, std::vector<proxyconfig::MeshedService>> Reconciler::all_exports() const {
  std::map<std::string, std::vector<proxyconfig::MeshedService>> out;
  for (const auto& [key, ns] : *caches_.namespaces.snapshot()) {
    if (!ns->meshed || ns->meta.deleting || !selected(*ns)) continue;
    auto exports = exported_services(caches_.gather(ns->meta.name), options_.export_limits);
    if (!exports.empty()) out.emplace(ns->meta.name, std::move(exports));
  }
  return out;
}

std::optional<std::chrono::milliseconds> Reconciler::propagate_exports(
    const std::string& ns, const std::vector<proxyconfig::MeshedService>& exports) {
  {
    // The workers reconcile several namespaces at once.
    std::lock_guard lock(exported_mutex_);
    const auto now = options_.steady_now();
    auto last = exported_.find(ns);
    const bool changed = last == exported_.end()
                             ? !exports.empty()
                             : last->second.pending || last->second.exports != exports;
    if (!changed) return std::nullopt;
    if (last != exported_.end()) {
      const auto next = last->second.at + options_.export_propagation_interval;
      if (now < next) {
        last->second.pending = true;
        metrics_.export_propagations_deferred.inc();
        return std::chrono::ceil<std::chrono::milliseconds>(next - now);
      }
    }
    // (An empty entry is kept: its time bounds the next propagation.)
    exported_[ns] = Propagated{exports, now, false};
  }
  logger_.info("meshed Services offered to other namespaces changed",
               {{"namespace", ns}, {"services", exports.size()}});
  if (enqueue_) {
    for (const auto& [key, other] : *caches_.namespaces.snapshot()) {
      if (other->meta.name != ns && other->meshed && selected(*other)) enqueue_(other->meta.name);
    }
  }
  return std::nullopt;
}

WriteResult Reconciler::apply_rbac(const NamespaceModel& namespace_object) {
  const std::string& ns = namespace_object.meta.name;
  const auto& type = role_bindings();
  const json desired = desired_role_binding(namespace_object);
  const auto current = cached(caches_.role_bindings, ns, kProxyConfigReaderName);
  const std::string fingerprint = parse_rbac(desired).content;
  const std::string version = current ? current->meta.resource_version : "";
  if (current && current->content == fingerprint) return done();
  if (memory_.written(ns, type.kind, version, fingerprint)) return done();
  if (!options_.may_write()) return done();
  auto applied = writer_.apply(type, desired);
  if (!applied && current && applied.is_error(kube::ErrorKind::kInvalid)) {
    // A roleRef cannot be changed (one written by an older operator named a
    // Role): delete that binding, only if it is still the one cached, and
    // create ours.
    auto removed = writer_.remove(type, ns, std::string(kProxyConfigReaderName), current->meta.uid);
    if (!removed && !removed.is_error(kube::ErrorKind::kNotFound)) return removed;
    applied = writer_.apply(type, desired);
  }
  if (!applied) return applied;
  memory_.remember(ns, type.kind, version, fingerprint);
  logger_.info(current ? "proxies' read access restored" : "proxies' read access written",
               {{"namespace", ns}, {"kind", type.kind}});
  return done();
}

void Reconciler::report_default_policy(const NamespaceModel& namespace_object,
                                       const std::string& problem) {
  const std::string& ns = namespace_object.meta.name;
  if (problem.empty()) {
    memory_.clear_bad_default_policy(ns);
    return;
  }
  // Every reconcile of the namespace meets it again: the log is throttled
  // across namespaces, the Event raised once per bad value.
  if (auto skipped = default_policy_log_.admit(options_.steady_now())) {
    logger_.warn("bad default inbound policy annotation: deny written instead",
                 {{"namespace", ns}, {"problem", problem}, {"skipped", *skipped}});
  }
  if (memory_.mark_bad_default_policy(ns, problem) && options_.may_write()) {
    raise_event(ns, "Namespace", "v1", ns, namespace_object.meta.uid, "Warning",
                std::string(reason::kInvalidDefaultInboundPolicy), problem);
  }
}

WriteResult Reconciler::apply_config(const NamespaceModel& namespace_object,
                                     const NamespacePlan& plan) {
  const std::string& ns = namespace_object.meta.name;
  // The proxies keep reading the previous document when the new one is too large.
  if (auto rbac = apply_rbac(namespace_object); !rbac) return rbac;
  if (plan.too_large) {
    metrics_.config_map_writes.with_labels({"too_large"}).inc();
    const bool first_time = memory_.mark_too_large(ns);
    logger_.error(
        "proxy configuration too large; not written",
        {{"namespace", ns}, {"bytes", plan.config_bytes}, {"limit", kProxyConfigMaxBytes}});
    if (first_time) {
      raise_event(ns, "Namespace", "v1", ns, namespace_object.meta.uid, "Warning",
                  std::string(reason::kConfigTooLarge), plan.too_large_message);
    }
    return done();
  }
  memory_.clear_too_large(ns);
  const auto& config = *plan.config;
  const auto current = cached(caches_.config_maps, ns, kProxyConfigMapName);
  const std::string version = current ? current->meta.resource_version : "";
  const bool unchanged =
      (current && current->document == config.text && current->hash == config.hash) ||
      memory_.written(ns, "ConfigMap", version, config.hash);
  if (unchanged) {
    metrics_.config_map_writes_skipped.inc();
    return done();
  }
  if (!options_.may_write()) return done();
  auto applied =
      writer_.apply(kube::resources::config_maps(), desired_config_map(namespace_object, config));
  if (!applied) {
    if (applied.is_error(kube::ErrorKind::kConflict)) metrics_.write_conflicts.inc();
    metrics_.config_map_writes.with_labels({"failed"}).inc();
    return applied;
  }
  metrics_.config_map_writes.with_labels({"applied"}).inc();
  logger_.info("proxy configuration written",
               {{"namespace", ns}, {"hash", config.hash}, {"bytes", config.text.size()}});
  memory_.remember(ns, "ConfigMap", version, config.hash);
  return done();
}

WriteResult Reconciler::delete_generated(const std::string& ns) {
  memory_.forget_namespace(ns);
  if (!options_.may_write()) return done();
  bool deleted = false;
  const auto remove = [&](const kube::ResourceType& type, std::string_view name,
                          const std::string& uid) {
    auto removed = writer_.remove(type, ns, std::string(name), uid);
    if (!removed && !removed.is_error(kube::ErrorKind::kNotFound)) return removed;
    deleted = true;
    return done();
  };
  if (const auto map = cached(caches_.config_maps, ns, kProxyConfigMapName)) {
    if (auto removed = remove(kube::resources::config_maps(), kProxyConfigMapName, map->meta.uid);
        !removed) {
      return removed;
    }
  }
  if (const auto map = cached(caches_.proxy_health_maps, ns, kProxyHealthConfigMapName)) {
    if (auto removed =
            remove(kube::resources::config_maps(), kProxyHealthConfigMapName, map->meta.uid);
        !removed) {
      return removed;
    }
  }
  // The proxies' read access goes with the ConfigMap.
  if (const auto binding = cached(caches_.role_bindings, ns, kProxyConfigReaderName)) {
    if (auto removed = remove(role_bindings(), kProxyConfigReaderName, binding->meta.uid);
        !removed) {
      return removed;
    }
  }
  if (deleted) {
    metrics_.config_map_writes.with_labels({"deleted"}).inc();
    logger_.info("namespace no longer meshed: proxy configuration deleted", {{"namespace", ns}});
  }
  return done();
}

WriteResult Reconciler::report_proxy_health(const NamespaceModel& namespace_object,
                                            const NamespaceInput& input,
                                            std::optional<std::chrono::milliseconds>& recheck) {
  const std::string& ns = namespace_object.meta.name;
  const auto now = options_.steady_now();
  const auto sooner = [&](std::chrono::milliseconds delay) {
    if (!recheck || delay < *recheck) recheck = delay;
  };
  const NamespaceHealth health = proxy_health_.observe(ns, input.pods, now);
  if (health.recheck_after) sooner(*health.recheck_after);
  for (const ProxyState state : kProxyStates) {
    // No stale_config series: nothing measures it (docs/operator.md).
    if (state == ProxyState::kStaleConfig) continue;
    metrics_.meshed_pods.with_labels({ns, std::string(to_string(state))})
        .set(static_cast<double>(health.counts[static_cast<std::size_t>(state)]));
  }
  // Born at 0, so that an increase() sees the first restart.
  metrics_.proxy_restarts.with_labels({ns}).inc(health.new_restarts);
  if (health.events_suppressed > 0) metrics_.proxy_events_suppressed.inc(health.events_suppressed);
  for (const auto& event : health.events) {
    raise_event(ns, "Pod", "v1", event.pod, event.uid, "Warning",
                std::string(event_reason(event.state)), event.message);
  }

  // The summary: written once the namespace has a tracked pod, then kept.
  const auto stored = cached(caches_.proxy_health_maps, ns, kProxyHealthConfigMapName);
  if (health.tracked == 0 && !stored) return done();
  const auto data = proxy_health_data(health.counts, health.unhealthy, stored.get(),
                                      options_.now ? options_.now() : now_rfc3339());
  // What matters for "did it change": not the transition time.
  const auto fingerprint_of = [](const std::map<std::string, std::string>& values) {
    std::string out;
    for (const char* key : {"healthy", "pods", "unhealthy"}) {
      const auto it = values.find(key);
      out += (it == values.end() ? std::string("-") : it->second) + '\x1f';
    }
    return out;
  };
  const std::string fingerprint = fingerprint_of(data);
  const std::string version = stored ? stored->meta.resource_version : "";
  if (stored && stored->data.contains("conditions") && fingerprint_of(stored->data) == fingerprint)
    return done();
  if (memory_.written(ns, "ProxyHealth", version, fingerprint)) return done();
  {
    std::lock_guard lock(health_written_mutex_);
    const auto last = health_written_.find(ns);
    if (last != health_written_.end() &&
        now < last->second + options_.proxy_health_write_interval) {
      metrics_.proxy_health_writes_deferred.inc();
      sooner(std::chrono::ceil<std::chrono::milliseconds>(
          last->second + options_.proxy_health_write_interval - now));
      return done();
    }
  }
  auto applied = writer_.apply(kube::resources::config_maps(),
                               desired_proxy_health_map(namespace_object, data));
  if (!applied) return applied;
  {
    std::lock_guard lock(health_written_mutex_);
    health_written_[ns] = now;
  }
  memory_.remember(ns, "ProxyHealth", version, fingerprint);
  return done();
}

void Reconciler::forget_proxy_health(const std::string& ns) {
  proxy_health_.forget(ns);
  for (const ProxyState state : kProxyStates) {
    metrics_.meshed_pods.remove({ns, std::string(to_string(state))});
  }
  metrics_.proxy_restarts.remove({ns});
  std::lock_guard lock(health_written_mutex_);
  health_written_.erase(ns);
}

WriteResult Reconciler::write_statuses(const std::string& ns, const NamespaceInput& input,
                                       const NamespacePlan& plan) {
  std::optional<kube::ApiError> first_error;
  std::set<std::string> written_uids;
  for (const auto& status : plan.status.statuses) {
    if (!status.changed) continue;
    const bool route = status.kind == MeshKind::kMeshRoute;
    const auto& type = route ? kube::resources::mesh_routes() : kube::resources::mesh_policies();
    std::string version;
    if (route) {
      for (const auto& object : input.routes) {
        if (object->meta.uid == status.uid) version = object->meta.resource_version;
      }
    } else {
      for (const auto& object : input.policies) {
        if (object->meta.uid == status.uid) version = object->meta.resource_version;
      }
    }
    const std::string fingerprint = status_fingerprint(status);
    const std::string object = WriteMemory::status_object(status.uid);
    if (memory_.written(ns, object, version, fingerprint)) {
      continue;  // written already; the watch has not shown it yet
    }
    if (!options_.may_write()) return done();
    json patch = status_patch(status);
    // Precondition: the object as cached, so a concurrent writer's change is
    // never overwritten blindly (409, then retried from a fresh cache).
    patch["metadata"] = {{"resourceVersion", version}, {"uid", status.uid}};
    auto result = writer_.patch_status(type, ns, status.name, patch);
    if (!result) {
      if (result.is_error(kube::ErrorKind::kConflict)) metrics_.write_conflicts.inc();
      if (result.is_error(kube::ErrorKind::kNotFound)) continue;  // deleted meanwhile
      if (!first_error) first_error = result.error();
      continue;
    }
    metrics_.status_writes.with_labels({std::string(to_string(status.kind))}).inc();
    written_uids.insert(status.uid);
    memory_.remember(ns, object, version, fingerprint);
  }
  for (const auto& event : plan.status.events) {
    if (!written_uids.contains(event.uid)) continue;  // raised with the status change only
    raise_event(ns, std::string(to_string(event.kind)), "weft.io/v1alpha1", event.name, event.uid,
                event.type, event.reason, event.message);
  }
  if (first_error) return *first_error;
  return done();
}

void Reconciler::raise_event(const std::string& ns, const std::string& kind,
                             const std::string& api_version, const std::string& name,
                             const std::string& uid, const std::string& type,
                             const std::string& reason, const std::string& message) {
  const std::string now = options_.now ? options_.now() : now_rfc3339();
  // Events about a cluster-scoped object live in "default".
  const bool cluster_scoped = kind == "Namespace";
  json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", name + "."}, {"namespace", cluster_scoped ? "default" : ns}}},
      {"involvedObject",
       {{"apiVersion", api_version},
        {"kind", kind},
        {"name", name},
        {"namespace", cluster_scoped ? "" : ns},
        {"uid", uid}}},
      {"reason", reason},
      {"message", message.substr(0, 1024)},
      {"type", type},
      {"source", {{"component", kOperatorName}}},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1}};
  auto created = writer_.create_event(event);
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
