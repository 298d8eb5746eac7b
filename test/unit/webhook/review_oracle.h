#pragma once

// The oracle for the webhook's review parsing: the body parsed whole by
// nlohmann::json (no pruning, no limits) and walked by the same
// read_admission_review, against parse_admission_review (which parses with
// nlohmann's SAX interface and keeps only the parts it reads). What it proves:
// the pruning drops nothing the walk looks at, and the limits (depth, repeated
// keys) refuse only what they should. What the walk then does with the facts
// (errors, decisions, the patch) is checked by fixtures with expected answers.

#include <string>
#include <string_view>

namespace weft::test {

// Empty when parse_admission_review agrees with the whole-document parse: the
// same decoded request and pod facts, or the same error; a body refused by
// nlohmann refused as invalid JSON (or too deep); a body nested deeper than the
// limit refused for that; a repeated key refused only when the body has one.
// Otherwise what differs.
std::string differences_from_whole_parse(std::string_view body);

}  // namespace weft::test
