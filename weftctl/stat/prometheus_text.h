#pragma once

// The Prometheus text exposition format (0.0.4), as weft-proxy's /metrics
// writes it, read into samples. Pure: the caller fetched the text. Strict,
// because a line we misread would skew every figure computed from it: a line
// that is not a comment, blank, or `name{label="value",...} value [timestamp]`
// is refused with its line number and what is wrong.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

namespace weft::ctl::stat {

// Label name -> value, sorted: two samples are the same series when their
// names and label maps are equal.
using Labels = std::map<std::string, std::string, std::less<>>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;  // may be +Inf, -Inf or NaN
  friend bool operator==(const Sample&, const Sample&) = default;
};

// The value of a label, "" when the sample has none.
std::string_view label(const Sample& sample, std::string_view name);

// Every sample of `text` in order; # HELP, # TYPE and other comments and
// blank lines are skipped. Errors: "line 12: <what>".
Result<std::vector<Sample>> parse_prometheus_text(std::string_view text);

}  // namespace weft::ctl::stat
