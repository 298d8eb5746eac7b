#pragma once

// MeshRoute / MeshPolicy status, computed purely from what build_config found
// (docs/crds.md, "Status"): conditions Accepted, ResolvedRefs (routes) and
// Programmed, each with observedGeneration; lastTransitionTime kept while a
// condition's status does not change. A status is written only when it differs
// from the stored one, and a Warning Event is raised when a condition turns
// False or changes its reason while False.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/config_builder.h"
#include "operator/model.h"

namespace weft::op {

// Condition types and reasons, as promised by docs/crds.md.
namespace reason {
inline constexpr std::string_view kAccepted = "Accepted";
inline constexpr std::string_view kInvalid = "Invalid";
inline constexpr std::string_view kParentNotFound = "ParentNotFound";
inline constexpr std::string_view kTargetNotFound = "TargetNotFound";
inline constexpr std::string_view kConflicted = "Conflicted";
inline constexpr std::string_view kResolvedRefs = "ResolvedRefs";
inline constexpr std::string_view kBackendNotFound = "BackendNotFound";
inline constexpr std::string_view kProgrammed = "Programmed";
inline constexpr std::string_view kConfigTooLarge = "ConfigTooLarge";
inline constexpr std::string_view kNamespaceNotMeshed = "NamespaceNotMeshed";
inline constexpr std::string_view kNotAccepted = "NotAccepted";
// A MeshPolicy sets mtls but documents carry no identity (no usable trust
// anchors): the proxies cannot do mTLS, so the section is not enforced.
inline constexpr std::string_view kIdentityNotConfigured = "IdentityNotConfigured";
// Programmed=False for a policy setting a server-side section (mtls,
// authorization, rateLimit) that no meshed pod's proxy enforces
// (operator/policy_reach.h): it selects no pod, only unmeshed pods, or
// another policy comes first for each of its sections on every such pod.
inline constexpr std::string_view kNoPodsSelected = "NoPodsSelected";
inline constexpr std::string_view kPodsNotMeshed = "PodsNotMeshed";
inline constexpr std::string_view kOverridden = "Overridden";
// A Namespace's config.weft.io/default-inbound-policy is not a known word (an
// Event on the Namespace; its document says deny).
inline constexpr std::string_view kInvalidDefaultInboundPolicy = "InvalidDefaultInboundPolicy";
}  // namespace reason

enum class MeshKind { kMeshRoute, kMeshPolicy };
std::string_view to_string(MeshKind kind);  // "MeshRoute", "MeshPolicy"

// How the namespace's document fared, for the Programmed condition.
enum class Programming { kProgrammed, kNotMeshed, kTooLarge };

struct DesiredStatus {
  MeshKind kind;
  std::string name;
  std::string uid;
  std::int64_t generation = 0;
  std::vector<Condition> conditions;
  bool changed = false;  // differs from the stored status: write it
};

struct EventSpec {
  MeshKind kind;
  std::string name;
  std::string uid;
  std::string type;  // "Warning" or "Normal"
  std::string reason;
  std::string message;
};

struct StatusPlan {
  std::vector<DesiredStatus> statuses;  // one per MeshRoute and MeshPolicy
  std::vector<EventSpec> events;
};

// now: RFC 3339 time for new transitions (the caller's clock).
StatusPlan plan_statuses(const NamespaceInput& input, const BuiltConfig& built,
                         Programming programming, const std::string& too_large_message,
                         const std::string& now);

// {"status": {...}} for a merge patch of the status subresource.
nlohmann::json status_patch(const DesiredStatus& status);

}  // namespace weft::op
