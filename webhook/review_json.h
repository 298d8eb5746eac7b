#pragma once

// An AdmissionReview body parsed by nlohmann::json's SAX interface into a DOM of
// only the parts the webhook reads: the review's apiVersion and kind; the
// request's uid, kind, operation, namespace, name, subResource and dryRun; and of
// the pod, metadata.annotations, the names, securityContexts and containerPorts of
// its containers, init containers and ephemeral containers, its volumes' names and
// spec.hostNetwork. The rest (status, managedFields, env, images...) is checked as JSON by the
// library and dropped without being stored, which is most of a pod.
//
// Kept values keep their type whatever it is, so a walk of the pruned document
// finds the same shapes (and the same errors) as a walk of the whole one; the
// unit tests and the fuzzer compare the two.

#include <nlohmann/json.hpp>
#include <string_view>

#include "weft/result.h"

namespace weft::webhook {

// At most this many values (scalars, objects, arrays) are kept from the parts
// the webhook reads; a real pod has a few hundred at most. It bounds the
// memory of one review whatever its body holds.
inline constexpr std::size_t kMaxKeptValues = 10'000;

// An Error (HTTP 400) for a body that is not one valid JSON text (RFC 8259, as
// nlohmann reads it: strict UTF-8, paired surrogates, numbers beyond a double
// refused), nests containers deeper than max_depth, keeps more than
// kMaxKeptValues values, or repeats a key in an object
// the webhook reads (the same text must not mean two things to two parsers).
Result<nlohmann::json> parse_review_json(std::string_view body, int max_depth);

}  // namespace weft::webhook
