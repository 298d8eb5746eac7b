#pragma once

// A Prometheus metrics registry shared by the operator, webhook and proxy, with
// exposition in the text format 0.0.4 for their /metrics endpoints.
//
// A family (name, help, label names) is registered once, at start-up; a child
// per combination of label values is looked up under a lock and then updated
// with relaxed atomics only, so hot paths look a child up once and keep the
// reference (it lives as long as the registry):
//
//   auto& requests = registry.counter("weft_requests_total", "Requests.", {"direction"});
//   Counter& inbound = requests.with_labels({"inbound"});
//   inbound.inc();
//
// Registration mistakes (bad names, conflicting shapes) are programming errors
// and throw std::invalid_argument; updates never throw.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// The Content-Type of Registry::expose() output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

template <typename Metric>
class Family;

// A count that only goes up. Integer, so increments from many threads add up exactly.
class Counter {
 public:
  static constexpr std::string_view kType = "counter";

  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(std::uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  template <typename>
  friend class Family;
  void write(std::string& out, std::string_view name, std::string_view labels) const;

  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (open connections, config generation, timestamps).
class Gauge {
 public:
  static constexpr std::string_view kType = "gauge";

  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  template <typename>
  friend class Family;
  void write(std::string& out, std::string_view name, std::string_view labels) const;

  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds inclusive, as Prometheus'
// "le"), plus their sum. Bucket counts are stored per bucket and made cumulative
// at exposition, so an observation is two atomic adds.
class Histogram {
 public:
  static constexpr std::string_view kType = "histogram";

  // bounds must outlive the histogram; the family owns them.
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN goes to the +Inf bucket only, as in the Go client.
  void observe(double value);
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  template <typename>
  friend class Family;
  void write(std::string& out, std::string_view name, std::string_view labels) const;

  std::span<const double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // one per bound, then +Inf
  std::atomic<double> sum_{0};
};

namespace detail {

// What the registry needs from a family, whatever its metric type.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bucket_bounds() const { return bucket_bounds_; }
  virtual std::string_view type() const = 0;
  virtual void write(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
             std::vector<double> bucket_bounds);

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bucket_bounds_;  // empty unless a histogram
};

}  // namespace detail

template <typename Metric>
class Family final : public detail::FamilyBase {
 public:
  // The child for these label values (one per label name, in order), created at
  // first use. Throws std::invalid_argument if the number of values is wrong.
  Metric& with_labels(const std::vector<std::string>& label_values);
  // The only child of a family without labels.
  Metric& get() { return with_labels({}); }
  // Drops the child for these label values, so a series whose subject is gone
  // (a deleted namespace, say) stops being exposed. References to it obtained
  // from with_labels() dangle afterwards: only remove children nobody caches.
  // Returns whether there was one.
  bool remove(const std::vector<std::string>& label_values);

  std::string_view type() const override { return Metric::kType; }
  void write(std::string& out) const override;

 private:
  friend class Registry;
  using detail::FamilyBase::FamilyBase;

  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again returns the same family if type, help, label names
  // and buckets all match, and throws std::invalid_argument otherwise. Names must
  // match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* without a
  // leading "__", and be distinct.
  Family<Counter>& counter(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {});
  // bucket_bounds: finite and strictly increasing; the +Inf bucket is implicit.
  // "le" is not allowed as a label name (exposition uses it).
  Family<Histogram>& histogram(std::string_view name, std::string_view help,
                               std::vector<double> bucket_bounds,
                               std::vector<std::string> label_names = {});

  // Text format 0.0.4, families sorted by name and children by label values, so
  // the same state always gives the same bytes.
  std::string expose() const;

 private:
  template <typename Metric>
  Family<Metric>& add(std::string_view name, std::string_view help,
                      std::vector<std::string> label_names, std::vector<double> bucket_bounds);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

}  // namespace weft
