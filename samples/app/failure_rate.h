#pragma once

// Injected failures: a sample app answers 500 to this fraction of requests,
// chosen independently per request.

#include <random>
#include <string_view>

#include "weft/result.h"

namespace weft::samples {

// A decimal number from 0 to 1 ("0.2"); anything else is an error.
Result<double> parse_failure_rate(std::string_view text);

// True with probability rate.
bool draw_failure(double rate, std::mt19937_64& random);

}  // namespace weft::samples
