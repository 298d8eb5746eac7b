#pragma once

// Gateway API durations (GEP-2257), as accepted by the MeshRoute/MeshPolicy CRDs:
// strings matching ^([0-9]{1,5}(h|m|s|ms)){1,4}$ with Go time.ParseDuration
// meaning, e.g. "1h30m", "500ms", "0s". The operator parses them from CRDs and
// writes them into the proxy config; the proxy parses them again from there.

#include <chrono>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft {

// The largest duration GEP-2257 can express in canonical form: 99999h59m59s999ms.
inline constexpr std::chrono::milliseconds kMaxDuration =
    std::chrono::hours(99999) + std::chrono::minutes(59) + std::chrono::seconds(59) +
    std::chrono::milliseconds(999);

// Parses a GEP-2257 duration. Components add up as in Go, so repeated or
// unordered units are accepted ("1h1h" is 2h, "10s1m" is 70s): the CRD regex
// admits them, and rejecting what the API server accepted would only move the
// error to a worse place. Totals above kMaxDuration are rejected because they
// have no canonical form. Never throws on bad input.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// Formats the canonical GEP-2257 form: each unit at most once, largest first,
// zero parts left out, "0s" for zero (5400000ms -> "1h30m"). Fails for negative
// durations and those above kMaxDuration, which have no valid form.
Result<std::string> format_duration(std::chrono::milliseconds duration);

}  // namespace weft
