#include "samples/app/failure_rate.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace weft::samples {

Result<double> parse_failure_rate(std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  const double rate = copy.empty() ? NAN : std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(rate) || rate < 0 ||
      rate > 1) {
    return Error{"failure rate \"" + copy + "\": must be a number from 0 to 1, e.g. 0.2"};
  }
  return rate;
}

bool draw_failure(double rate, std::mt19937_64& random) {
  if (rate <= 0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(random) < rate;
}

}  // namespace weft::samples
