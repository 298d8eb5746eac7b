#pragma once

// Helpers shared by the unit tests of the proxy document and of a namespace's
// plan: a trust anchor's PEM shape, the error of a refused document, a plan's
// document and conditions.

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "operator/namespace_plan.h"
#include "weft/proxyconfig/parse.h"

namespace weft::op::test {

// The shape of a PEM certificate: the document checks no more than the shape
// of its trust anchors (the proxy parses the certificates).
inline const std::string kAnchorPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIUYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowCgYIKoZI\n"
    "-----END CERTIFICATE-----\n";

// The message parse() gives for a document it must refuse.
inline std::string parse_error(const std::string& text) {
  auto parsed = proxyconfig::parse(text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message;
}

// The plan's document, read back by the proxies' parser (so it is valid).
inline proxyconfig::Document document_of(const NamespacePlan& plan) {
  REQUIRE(plan.config.has_value());
  auto parsed = proxyconfig::parse(plan.config->text);
  REQUIRE(parsed.has_value());
  return parsed->document;
}

// The condition `type` of the MeshRoute or MeshPolicy `name` in the plan.
inline const Condition& condition(const NamespacePlan& plan, const std::string& name,
                                  const std::string& type) {
  for (const auto& status : plan.status.statuses) {
    if (status.name != name) continue;
    for (const auto& c : status.conditions) {
      if (c.type == type) return c;
    }
  }
  FAIL("no condition " << type << " on " << name);
  throw std::logic_error("unreachable");
}

}  // namespace weft::op::test
