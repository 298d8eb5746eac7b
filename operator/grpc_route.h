#pragma once

// MeshRoute's gRPC fields as the proxy document carries them (docs/crds.md,
// "gRPC"; docs/proxy-config.md): a `grpcMethod` match, shaped like Gateway
// API GRPCRoute's method match, becomes a path match that holds only for gRPC
// requests (RouteMatch::grpc), and `retry.grpcCodes` names become the status
// numbers the proxy compares. Pure functions.
//
// gRPC calls are POST /<package>.<Service>/<Method>: a method match is a path
// match, and the proxy's check of the request's content type and of the
// path's two segments makes it exactly GRPCRoute's (a service pattern cannot
// reach into the method's segment).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"

namespace weft::op {

// A `grpcMethod` match as written; an empty service or method matches any.
struct GrpcMethodMatch {
  proxyconfig::ValueMatchType type = proxyconfig::ValueMatchType::kExact;
  std::string service;
  std::string method;
  friend bool operator==(const GrpcMethodMatch&, const GrpcMethodMatch&) = default;
};

// Why a match cannot be used; `field` is under the match's `grpcMethod`
// ("service", "method", or empty for the whole match).
struct GrpcMatchError : Error {
  std::string field;
};

// The path match a gRPC method match is, or why it has none:
//   Exact, service and method:  Exact "/<service>/<method>"
//   Exact, service only:        PathPrefix "/<service>/"
//   Exact, method only:         RegularExpression "/[^/]+/<method>"
//   RegularExpression:          RegularExpression "/(?:<service>)/(?:<method>)",
//                               "[^/]+" for the one left out
// Refused: neither service nor method; an Exact service that is not a
// protobuf full name (`shop.v1.Cart`) or an Exact method that is not a
// protobuf identifier (`AddItem`), which could never match and could break
// out of the path; a pattern RE2 refuses (the proxy compiles it the same way).
Result<proxyconfig::PathMatch, GrpcMatchError> grpc_method_path(const GrpcMethodMatch& match);

// `Unavailable` -> 14: the names of retry.grpcCodes, gRPC's canonical codes
// in CamelCase (`Cancelled`, `DeadlineExceeded`, ...), OK excluded. nullopt
// for any other word.
std::optional<std::uint8_t> grpc_code(std::string_view name);

// 14 -> "Unavailable"; empty for a number outside 1..16.
std::string_view grpc_code_name(std::uint8_t code);

}  // namespace weft::op
