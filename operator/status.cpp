#include "operator/status.h"

#include <fmt/format.h>

#include "weft/proxyconfig/enums.h"

namespace weft::op {
namespace {

std::string join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

Condition make(std::string_view type, bool ok, std::string_view why, std::string message) {
  return {std::string(type), ok ? "True" : "False", std::string(why), std::move(message), 0, ""};
}

Condition programmed(Programming programming, bool accepted, const std::string& too_large) {
  if (!accepted) {
    return make(reason::kProgrammed, false, reason::kNotAccepted,
                "not in the proxy configuration because it is not accepted");
  }
  switch (programming) {
    case Programming::kNotMeshed:
      return make(reason::kProgrammed, false, reason::kNamespaceNotMeshed,
                  "the namespace is not labelled weft.io/inject=enabled");
    case Programming::kTooLarge:
      return make(reason::kProgrammed, false, reason::kConfigTooLarge, too_large);
    case Programming::kProgrammed:
      break;
  }
  return make(reason::kProgrammed, true, reason::kProgrammed,
              "in the proxy configuration of the namespace");
}

// A policy setting mtls is Programmed only when the proxies can enforce it:
// when the documents carry identity (docs/crds.md, "Status").
Condition mtls_programmed(const MeshPolicyModel& policy, const IdentityState& identity) {
  const proxyconfig::MtlsMode mode = *policy.mtls;
  const std::string_view name = proxyconfig::to_string(mode);
  if (!identity.config) {
    return make(
        reason::kProgrammed, false, reason::kIdentityNotConfigured,
        fmt::format("mtls {} is not enforced: {}; the other sections are in the proxy "
                    "configuration of the namespace",
                    name, identity.problem.empty() ? "no trust anchors" : identity.problem));
  }
  // The proxy does not know its pod's labels yet: it applies mtls (Strict
  // or Permissive: a Permissive one cannot lift a namespace-wide Strict)
  // only from policies that select every pod of the namespace.
  if (!mtls_applied_by_proxies(policy)) {
    return make(reason::kProgrammed, false, reason::kPodSelectionNotEnforced,
                fmt::format("mtls {} is not enforced yet for a policy that targets a Service or "
                            "selects pods by label (the proxies do not know their pods' labels); "
                            "the proxies apply mtls from a policy with podSelector: {{}} only; "
                            "the other sections are in the proxy configuration of the namespace",
                            name));
  }
  return make(reason::kProgrammed, true, reason::kProgrammed,
              fmt::format("in the proxy configuration of the namespace; mtls {} is enforced by "
                          "the proxies of the selected pods (trust domain {})",
                          name, identity.config->trust_domain));
}

// Fills observedGeneration and lastTransitionTime, compares with the stored
// status, and queues Events for conditions that went wrong.
DesiredStatus finish(MeshKind kind, const ObjectMeta& meta, const ObservedStatus& stored,
                     std::vector<Condition> conditions, const std::string& now,
                     std::vector<EventSpec>& events) {
  DesiredStatus out{kind, meta.name, meta.uid, meta.generation, {}, false};
  for (auto& condition : conditions) {
    condition.observed_generation = meta.generation;
    condition.last_transition_time = now;
    const Condition* before = nullptr;
    for (const auto& old : stored.conditions) {
      if (old.type == condition.type) before = &old;
    }
    if (before && before->status == condition.status && !before->last_transition_time.empty()) {
      condition.last_transition_time = before->last_transition_time;
    }
    // Programmed=False only repeats the cause already raised for Accepted, or
    // a namespace-wide state; only ConfigTooLarge is worth an Event per object.
    const bool echo =
        condition.reason == reason::kNotAccepted || condition.reason == reason::kNamespaceNotMeshed;
    const bool worsened =
        condition.status == "False" && !echo &&
        (!before || before->status != "False" || before->reason != condition.reason);
    if (worsened) {
      events.push_back({kind, meta.name, meta.uid, "Warning", condition.reason,
                        fmt::format("{}: {}", condition.type, condition.message)});
    }
  }
  out.changed = stored.observed_generation != meta.generation || stored.conditions != conditions;
  out.conditions = std::move(conditions);
  return out;
}

}  // namespace

std::string_view to_string(MeshKind kind) {
  return kind == MeshKind::kMeshRoute ? "MeshRoute" : "MeshPolicy";
}

StatusPlan plan_statuses(const NamespaceInput& input, const BuiltConfig& built,
                         Programming programming, const std::string& too_large_message,
                         const std::string& now) {
  StatusPlan plan;
  for (const auto& route : input.routes) {
    const auto it = built.routes.find(route->meta.name);
    const RouteFindings findings = it == built.routes.end() ? RouteFindings{} : it->second;
    std::vector<Condition> conditions;
    if (!findings.invalid.empty()) {
      conditions.push_back(make(reason::kAccepted, false, reason::kInvalid, findings.invalid));
    } else if (findings.attached.empty()) {
      conditions.push_back(
          make(reason::kAccepted, false, reason::kParentNotFound,
               fmt::format("parent Service not found: {}", join(findings.missing_parents))));
    } else if (!findings.missing_parents.empty()) {
      conditions.push_back(
          make(reason::kAccepted, true, reason::kAccepted,
               fmt::format("attached to {}; parent not found: {}", join(findings.attached),
                           join(findings.missing_parents))));
    } else {
      conditions.push_back(make(reason::kAccepted, true, reason::kAccepted,
                                fmt::format("attached to {}", join(findings.attached))));
    }
    const bool accepted = conditions.back().status == "True";
    if (findings.missing_backends.empty()) {
      conditions.push_back(make(reason::kResolvedRefs, true, reason::kResolvedRefs,
                                "every backend Service and port exists"));
    } else {
      conditions.push_back(make(
          reason::kResolvedRefs, false, reason::kBackendNotFound,
          fmt::format("backend Service or port not found: {}", join(findings.missing_backends))));
    }
    conditions.push_back(programmed(programming, accepted, too_large_message));
    plan.statuses.push_back(finish(MeshKind::kMeshRoute, route->meta, route->status,
                                   std::move(conditions), now, plan.events));
  }
  for (const auto& policy : input.policies) {
    const auto it = built.policies.find(policy->meta.name);
    const PolicyFindings findings = it == built.policies.end() ? PolicyFindings{} : it->second;
    std::vector<Condition> conditions;
    if (!findings.invalid.empty()) {
      conditions.push_back(make(reason::kAccepted, false, reason::kInvalid, findings.invalid));
    } else if (!findings.missing_target.empty()) {
      conditions.push_back(
          make(reason::kAccepted, false, reason::kTargetNotFound,
               fmt::format("target Service not found: {}", findings.missing_target)));
    } else if (!findings.conflicts.empty()) {
      conditions.push_back(make(reason::kAccepted, false, reason::kConflicted,
                                fmt::format("overridden by a more specific or older policy: {}",
                                            join(findings.conflicts))));
    } else {
      std::string message = policy->target
                                ? fmt::format("applies to Service {}", policy->target->name)
                                : std::string("applies to the pods it selects");
      if (!findings.note.empty()) message += "; " + findings.note;
      conditions.push_back(make(reason::kAccepted, true, reason::kAccepted, message));
    }
    // A conflicted policy still programs the sections it wins.
    const bool usable = findings.invalid.empty() && findings.missing_target.empty();
    conditions.push_back(programmed(programming, usable, too_large_message));
    if (policy->mtls && conditions.back().status == "True") {
      conditions.back() = mtls_programmed(*policy, input.identity);
    }
    plan.statuses.push_back(finish(MeshKind::kMeshPolicy, policy->meta, policy->status,
                                   std::move(conditions), now, plan.events));
  }
  return plan;
}

nlohmann::json status_patch(const DesiredStatus& status) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& condition : status.conditions) {
    conditions.push_back({{"type", condition.type},
                          {"status", condition.status},
                          {"reason", condition.reason},
                          {"message", condition.message.substr(0, 32768)},
                          {"observedGeneration", condition.observed_generation},
                          {"lastTransitionTime", condition.last_transition_time}});
  }
  return {{"status", {{"observedGeneration", status.generation}, {"conditions", conditions}}}};
}

}  // namespace weft::op
