#include "samples/app/latency.h"

#include "weft/duration.h"

namespace weft::samples {

namespace {

constexpr std::string_view kPlusMinus = "±";
constexpr std::string_view kPlusMinusAscii = "+-";

}  // namespace

Result<LatencySpec> parse_latency(std::string_view text) {
  std::string_view base_text = text;
  std::string_view jitter_text;
  for (std::string_view separator : {kPlusMinus, kPlusMinusAscii}) {
    if (const std::size_t at = text.find(separator); at != std::string_view::npos) {
      base_text = text.substr(0, at);
      jitter_text = text.substr(at + separator.size());
      if (jitter_text.empty()) {
        return Error{"latency \"" + std::string(text) + "\": missing the spread after ±"};
      }
      break;
    }
  }
  LatencySpec spec;
  auto base = parse_duration(base_text);
  if (!base) return Error{"latency \"" + std::string(text) + "\": " + base.error().message};
  spec.base = *base;
  if (!jitter_text.empty()) {
    auto jitter = parse_duration(jitter_text);
    if (!jitter) return Error{"latency \"" + std::string(text) + "\": " + jitter.error().message};
    if (*jitter > *base) {
      return Error{"latency \"" + std::string(text) + "\": the spread must not exceed the base"};
    }
    spec.jitter = *jitter;
  }
  return spec;
}

std::string to_string(const LatencySpec& spec) {
  // Both values passed parse_duration, so they have a canonical form.
  std::string text = format_duration(spec.base).value();
  if (spec.jitter.count() > 0) text += "±" + format_duration(spec.jitter).value();
  return text;
}

std::chrono::microseconds sample_latency(const LatencySpec& spec, std::mt19937_64& random) {
  using std::chrono::microseconds;
  const auto base = std::chrono::duration_cast<microseconds>(spec.base).count();
  const auto jitter = std::chrono::duration_cast<microseconds>(spec.jitter).count();
  if (jitter == 0) return microseconds(base);
  std::uniform_int_distribution<long long> spread(-jitter, jitter);
  return microseconds(base + spread(random));
}

}  // namespace weft::samples
