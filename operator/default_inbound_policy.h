#pragma once

// The namespace's default inbound policy (docs/crds.md "Default inbound
// policy"): the annotation config.weft.io/default-inbound-policy on the
// Namespace, else the operator's --default-inbound-policy. Pure.

#include <optional>
#include <string>
#include <string_view>

#include "weft/proxyconfig/document.h"

namespace weft::op {

// One of the four words, in any case ("Deny", "same-namespace"); nullopt otherwise.
std::optional<proxyconfig::DefaultInboundPolicy> parse_default_inbound_policy(
    std::string_view text);

struct DefaultInboundPolicyChoice {
  proxyconfig::DefaultInboundPolicy policy = proxyconfig::DefaultInboundPolicy::kAllUnauthenticated;
  // Set when the annotation holds an unknown word: the choice then fails closed
  // to deny (a typo must not open the namespace), and this says why.
  std::string problem;
};

// annotation: the Namespace's annotation value, if it has one.
DefaultInboundPolicyChoice choose_default_inbound_policy(
    const std::optional<std::string>& annotation, proxyconfig::DefaultInboundPolicy fallback);

}  // namespace weft::op
