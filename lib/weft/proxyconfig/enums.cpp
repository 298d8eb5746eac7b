#include "weft/proxyconfig/enums.h"

#include <array>
#include <utility>

namespace weft::proxyconfig {
namespace {

template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<PathMatchType, 3> kPathMatchTypes{
    {{PathMatchType::kExact, "Exact"},
     {PathMatchType::kPathPrefix, "PathPrefix"},
     {PathMatchType::kRegularExpression, "RegularExpression"}}};
constexpr Names<ValueMatchType, 2> kValueMatchTypes{
    {{ValueMatchType::kExact, "Exact"}, {ValueMatchType::kRegularExpression, "RegularExpression"}}};
constexpr Names<RetryCondition, 4> kRetryConditions{
    {{RetryCondition::kConnectFailure, "ConnectFailure"},
     {RetryCondition::kRefusedStream, "RefusedStream"},
     {RetryCondition::kReset, "Reset"},
     {RetryCondition::kTimeout, "Timeout"}}};
constexpr Names<LoadBalancerAlgorithm, 3> kAlgorithms{
    {{LoadBalancerAlgorithm::kPeakEwma, "PeakEWMA"},
     {LoadBalancerAlgorithm::kRoundRobin, "RoundRobin"},
     {LoadBalancerAlgorithm::kLeastRequest, "LeastRequest"}}};
constexpr Names<MtlsMode, 2> kMtlsModes{
    {{MtlsMode::kStrict, "Strict"}, {MtlsMode::kPermissive, "Permissive"}}};
constexpr Names<AuthorizationAction, 2> kActions{
    {{AuthorizationAction::kAllow, "Allow"}, {AuthorizationAction::kDeny, "Deny"}}};
constexpr Names<SelectorOperator, 4> kOperators{
    {{SelectorOperator::kIn, "In"},
     {SelectorOperator::kNotIn, "NotIn"},
     {SelectorOperator::kExists, "Exists"},
     {SelectorOperator::kDoesNotExist, "DoesNotExist"}}};
constexpr Names<AuthorizationPathType, 2> kAuthorizationPathTypes{
    {{AuthorizationPathType::kExact, "Exact"}, {AuthorizationPathType::kPathPrefix, "PathPrefix"}}};
constexpr Names<DefaultInboundPolicy, 4> kDefaultInboundPolicies{
    {{DefaultInboundPolicy::kAllUnauthenticated, "all-unauthenticated"},
     {DefaultInboundPolicy::kAllAuthenticated, "all-authenticated"},
     {DefaultInboundPolicy::kSameNamespace, "same-namespace"},
     {DefaultInboundPolicy::kDeny, "deny"}}};

template <typename E, std::size_t N>
std::string_view name_of(const Names<E, N>& names, E value) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "Unknown";  // unreachable for valid enum values
}

template <typename E, std::size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(PathMatchType value) {
  return name_of(kPathMatchTypes, value);
}
std::string_view to_string(ValueMatchType value) {
  return name_of(kValueMatchTypes, value);
}
std::string_view to_string(RetryCondition value) {
  return name_of(kRetryConditions, value);
}
std::string_view to_string(LoadBalancerAlgorithm value) {
  return name_of(kAlgorithms, value);
}
std::string_view to_string(MtlsMode value) {
  return name_of(kMtlsModes, value);
}
std::string_view to_string(AuthorizationAction value) {
  return name_of(kActions, value);
}
std::string_view to_string(SelectorOperator value) {
  return name_of(kOperators, value);
}
std::string_view to_string(AuthorizationPathType value) {
  return name_of(kAuthorizationPathTypes, value);
}
std::string_view to_string(DefaultInboundPolicy value) {
  return name_of(kDefaultInboundPolicies, value);
}

template <>
std::optional<PathMatchType> parse_enum(std::string_view text) {
  return value_of(kPathMatchTypes, text);
}
template <>
std::optional<ValueMatchType> parse_enum(std::string_view text) {
  return value_of(kValueMatchTypes, text);
}
template <>
std::optional<RetryCondition> parse_enum(std::string_view text) {
  return value_of(kRetryConditions, text);
}
template <>
std::optional<LoadBalancerAlgorithm> parse_enum(std::string_view text) {
  return value_of(kAlgorithms, text);
}
template <>
std::optional<MtlsMode> parse_enum(std::string_view text) {
  return value_of(kMtlsModes, text);
}
template <>
std::optional<AuthorizationAction> parse_enum(std::string_view text) {
  return value_of(kActions, text);
}
template <>
std::optional<SelectorOperator> parse_enum(std::string_view text) {
  return value_of(kOperators, text);
}
template <>
std::optional<AuthorizationPathType> parse_enum(std::string_view text) {
  return value_of(kAuthorizationPathTypes, text);
}
template <>
std::optional<DefaultInboundPolicy> parse_enum(std::string_view text) {
  return value_of(kDefaultInboundPolicies, text);
}

}  // namespace weft::proxyconfig
