#include "weft/metrics.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace weft {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

void validate_metric_name(std::string_view name) {
  const auto start_ok = [](char c) { return is_name_start(c) || c == ':'; };
  const auto char_ok = [](char c) { return is_name_char(c) || c == ':'; };
  if (name.empty() || !start_ok(name.front()) || !std::all_of(name.begin(), name.end(), char_ok)) {
    throw std::invalid_argument(
        fmt::format("invalid metric name {:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
}

void validate_label_names(std::string_view metric, const std::vector<std::string>& names,
                          bool is_histogram) {
  for (const std::string& label : names) {
    if (label.empty() || !is_name_start(label.front()) ||
        !std::all_of(label.begin(), label.end(), is_name_char)) {
      throw std::invalid_argument(
          fmt::format("metric {:?}: invalid label name {:?}: must match [a-zA-Z_][a-zA-Z0-9_]*",
                      metric, label));
    }
    if (label.starts_with("__")) {
      throw std::invalid_argument(fmt::format(
          "metric {:?}: label name {:?}: names starting with \"__\" are reserved", metric, label));
    }
    if (is_histogram && label == "le") {
      throw std::invalid_argument(
          fmt::format("metric {:?}: \"le\" is reserved for histogram buckets", metric));
    }
    if (std::count(names.begin(), names.end(), label) > 1) {
      throw std::invalid_argument(
          fmt::format("metric {:?}: label name {:?} appears twice", metric, label));
    }
  }
}

void validate_bucket_bounds(std::string_view metric, const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument(
          fmt::format("metric {:?}: bucket bound {} is not finite (the +Inf bucket is implicit)",
                      metric, bounds[i]));
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument(fmt::format(
          "metric {:?}: bucket bounds must be strictly increasing, got {}", metric, bounds));
    }
  }
}

// Sample values as Prometheus spells them: shortest round-trip decimal, and
// +Inf/-Inf/NaN rather than C's inf/nan.
std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// HELP text escapes backslash and newline; label values also escape the quote.
std::string escape(std::string_view text, bool escape_quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `a="x",b="y"`: the label part of a sample, without braces so histograms can append le.
std::string render_labels(const std::vector<std::string>& names,
                          const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    fmt::format_to(std::back_inserter(out), "{}=\"{}\"", names[i], escape(values[i], true));
  }
  return out;
}

void write_sample(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view labels, std::string_view value) {
  if (labels.empty()) {
    fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, suffix, value);
  } else {
    fmt::format_to(std::back_inserter(out), "{}{}{{{}}} {}\n", name, suffix, labels, value);
  }
}

}  // namespace

void Counter::write(std::string& out, std::string_view name, std::string_view labels) const {
  write_sample(out, name, "", labels, fmt::format("{}", value()));
}

void Gauge::write(std::string& out, std::string_view name, std::string_view labels) const {
  write_sample(out, name, "", labels, format_value(value()));
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(bounds.size() + 1) {}

void Histogram::observe(double value) {
  // First bound >= value; NaN compares false everywhere and lands in +Inf.
  const auto bound = std::partition_point(bounds_.begin(), bounds_.end(),
                                          [value](double b) { return !(value <= b); });
  buckets_[static_cast<std::size_t>(bound - bounds_.begin())].fetch_add(1,
                                                                        std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  return total;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : fmt::format("{},", labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
    write_sample(out, name, "_bucket", fmt::format("{}le=\"{}\"", prefix, le),
                 fmt::format("{}", cumulative));
  }
  // _count is the +Inf bucket read above, so the two always agree in one scrape.
  write_sample(out, name, "_sum", labels, format_value(sum()));
  write_sample(out, name, "_count", labels, fmt::format("{}", cumulative));
}

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bucket_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bucket_bounds_(std::move(bucket_bounds)) {}

}  // namespace detail

template <typename Metric>
Metric& Family<Metric>::with_labels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument(fmt::format("metric {:?} has labels {} but got values {}", name_,
                                            label_names_, label_values));
  }
  const std::lock_guard lock(mutex_);
  auto& child = children_[label_values];
  if (!child) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(bucket_bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
bool Family<Metric>::remove(const std::vector<std::string>& label_values) {
  const std::lock_guard lock(mutex_);
  return children_.erase(label_values) > 0;
}

template <typename Metric>
void Family<Metric>::write(std::string& out) const {
  if (!help_.empty()) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n", name_, escape(help_, false));
  }
  fmt::format_to(std::back_inserter(out), "# TYPE {} {}\n", name_, Metric::kType);
  const std::lock_guard lock(mutex_);
  for (const auto& [label_values, child] : children_) {
    child->write(out, name_, render_labels(label_names_, label_values));
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename Metric>
Family<Metric>& Registry::add(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names,
                              std::vector<double> bucket_bounds) {
  constexpr bool is_histogram = std::is_same_v<Metric, Histogram>;
  validate_metric_name(name);
  validate_label_names(name, label_names, is_histogram);
  validate_bucket_bounds(name, bucket_bounds);

  const std::lock_guard lock(mutex_);
  if (const auto it = families_.find(name); it != families_.end()) {
    const detail::FamilyBase& existing = *it->second;
    auto* same_type = dynamic_cast<Family<Metric>*>(it->second.get());
    if (same_type == nullptr || existing.help() != help || existing.label_names() != label_names ||
        existing.bucket_bounds() != bucket_bounds) {
      throw std::invalid_argument(fmt::format(
          "metric {:?} is already registered as {} with help {:?}, labels {} and buckets {}; "
          "cannot register it again as {} with help {:?}, labels {} and buckets {}",
          name, existing.type(), existing.help(), existing.label_names(), existing.bucket_bounds(),
          Metric::kType, help, label_names, bucket_bounds));
    }
    return *same_type;
  }

  const bool has_labels = !label_names.empty();
  auto family = std::unique_ptr<Family<Metric>>(new Family<Metric>(
      std::string(name), std::string(help), std::move(label_names), std::move(bucket_bounds)));
  // A family without labels has exactly one child: create it now so it is
  // exposed (as 0) before its first update, as the Go client does.
  if (!has_labels) family->get();
  Family<Metric>& result = *family;
  families_.emplace(std::string(name), std::move(family));
  return result;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names) {
  return add<Counter>(name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names) {
  return add<Gauge>(name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<double> bucket_bounds,
                                       std::vector<std::string> label_names) {
  return add<Histogram>(name, help, std::move(label_names), std::move(bucket_bounds));
}

std::string Registry::expose() const {
  std::string out;
  const std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) family->write(out);
  return out;
}

}  // namespace weft
