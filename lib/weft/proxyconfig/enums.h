#pragma once

// The JSON spelling of the document's enums (the same words as the CRDs), both
// ways. Parsing returns nullopt for an unknown word; the caller says where.

#include <optional>
#include <string_view>

#include "weft/proxyconfig/document.h"

namespace weft::proxyconfig {

std::string_view to_string(PathMatchType value);
std::string_view to_string(ValueMatchType value);
std::string_view to_string(RetryCondition value);
std::string_view to_string(LoadBalancerAlgorithm value);
std::string_view to_string(MtlsMode value);
std::string_view to_string(AuthorizationAction value);
std::string_view to_string(SelectorOperator value);
std::string_view to_string(AuthorizationPathType value);
std::string_view to_string(DefaultInboundPolicy value);  // "all-unauthenticated", ...

// Parses one of the words above for enum E (e.g. parse_enum<MtlsMode>("Strict")).
template <typename E>
std::optional<E> parse_enum(std::string_view text);
template <>
std::optional<PathMatchType> parse_enum(std::string_view text);
template <>
std::optional<ValueMatchType> parse_enum(std::string_view text);
template <>
std::optional<RetryCondition> parse_enum(std::string_view text);
template <>
std::optional<LoadBalancerAlgorithm> parse_enum(std::string_view text);
template <>
std::optional<MtlsMode> parse_enum(std::string_view text);
template <>
std::optional<AuthorizationAction> parse_enum(std::string_view text);
template <>
std::optional<SelectorOperator> parse_enum(std::string_view text);
template <>
std::optional<AuthorizationPathType> parse_enum(std::string_view text);
template <>
std::optional<DefaultInboundPolicy> parse_enum(std::string_view text);  // exact words

}  // namespace weft::proxyconfig
