#include "operator/status.h"

#include <fmt/format.h>

#include "operator/policy_reach.h"
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

// A policy setting mtls needs documents that carry identity (docs/crds.md,
// "Status"); nullopt when they do.
std::optional<Condition> mtls_not_enforceable(const MeshPolicyModel& policy,
                                              const IdentityState& identity) {
  if (identity.config) return std::nullopt;
  return make(reason::kProgrammed, false, reason::kIdentityNotConfigured,
              fmt::format("mtls {} is not enforced: {}; the other sections are in the proxy "
                          "configuration of the namespace",
                          proxyconfig::to_string(*policy.mtls),
                          identity.problem.empty() ? "no trust anchors" : identity.problem));
}

// What the proxies of the namespace's pods enforce of a policy's server-side
// sections (policy_reach.h); reach is null when the policy is not in the
// document's inbound policies (a targetRef Service without selector...).
Condition reach_programmed(const MeshPolicyModel& policy, const PolicyReach* reach,
                           const PolicyFindings& findings, const IdentityState& identity) {
  if (!reach || reach->selected == 0) {
    std::string message =
        "selects no pod of the namespace: its server-side sections are "
        "enforced nowhere";
    if (!findings.note.empty()) message += " (" + findings.note + ")";
    return make(reason::kProgrammed, false, reason::kNoPodsSelected, message);
  }
  if (reach->selected_meshed == 0) {
    return make(reason::kProgrammed, false, reason::kPodsNotMeshed,
                fmt::format("selects {} pod(s), none meshed (e.g. {}): no proxy enforces it",
                            reach->selected, join(reach->not_meshed)));
  }
  if (reach->enforced == 0) {
    return make(reason::kProgrammed, false, reason::kOverridden,
                fmt::format("selects {} meshed pod(s), but on each a policy earlier in "
                            "precedence order sets every one of its sections ({})",
                            reach->selected_meshed, join(reach->sections)));
  }
  // Each section it sets, as enforced: on every pod it wins, on some ("(on
  // N)"), or on none (an earlier policy sets it wherever this one applies).
  std::vector<std::string> sections;
  std::vector<std::string> overridden;
  for (std::size_t i = 0; i < reach->sections.size(); ++i) {
    std::string section = reach->sections[i];
    if (section == "mtls" && policy.mtls) {
      section = fmt::format("mtls {}", proxyconfig::to_string(*policy.mtls));
    }
    const std::size_t won =
        i < reach->sections_enforced.size() ? reach->sections_enforced[i] : reach->enforced;
    if (won == 0) {
      overridden.push_back(std::move(section));
    } else if (won < reach->enforced) {
      sections.push_back(fmt::format("{} (on {})", section, won));
    } else {
      sections.push_back(std::move(section));
    }
  }
  std::string message = fmt::format(
      "in the proxy configuration of the namespace; {} enforced "
      "by the proxies of {} pods",
      join(sections), reach->enforced);
  if (!overridden.empty()) {
    message += fmt::format(
        "; {} not enforced: a policy earlier in precedence order sets it "
        "wherever this one applies",
        join(overridden));
  }
  if (policy.mtls && identity.config) {
    message += fmt::format(" (trust domain {})", identity.config->trust_domain);
  }
  if (reach->selected_meshed > reach->enforced) {
    message += fmt::format("; overridden on {} other meshed pod(s)",
                           reach->selected_meshed - reach->enforced);
  }
  if (reach->selected > reach->selected_meshed) {
    message += fmt::format("; {} selected pod(s) not meshed (e.g. {})",
                           reach->selected - reach->selected_meshed, join(reach->not_meshed));
  }
  return make(reason::kProgrammed, true, reason::kProgrammed, message);
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
  const auto reach = policy_reach(built.document.inbound.policies, input.pods);
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
    const bool server_side = policy->mtls || policy->authorization || policy->rate_limit;
    if (server_side && conditions.back().status == "True") {
      const auto found = reach.find(policy->meta.name);
      if (auto not_enforceable =
              policy->mtls ? mtls_not_enforceable(*policy, input.identity) : std::nullopt) {
        conditions.back() = *not_enforceable;
      } else {
        conditions.back() = reach_programmed(
            *policy, found == reach.end() ? nullptr : &found->second, findings, input.identity);
      }
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
