#include "weft/metrics.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using weft::Registry;

namespace {

// The message of the std::invalid_argument that call() throws; any other outcome fails.
template <typename Call>
std::string invalid_argument_message(Call&& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("expected std::invalid_argument");
  return {};
}

}  // namespace

TEST_CASE("exposition of a small registry is exact", "[metrics]") {
  Registry registry;
  auto& requests =
      registry.counter("weft_requests_total", "Requests handled.", {"direction", "code"});
  requests.with_labels({"outbound", "200"}).inc(3);
  requests.with_labels({"inbound", "503"}).inc(2);
  requests.with_labels({"inbound", "200"}).inc();
  auto& open = registry.gauge("weft_open_connections", "Open connections.");
  open.get().set(5);
  open.get().dec();
  auto& latency =
      registry.histogram("weft_latency_seconds", "Request latency.", {0.25, 0.5, 1}, {"route"});
  for (double seconds : {0.125, 0.25, 0.75, 3.0}) latency.with_labels({"r1"}).observe(seconds);

  // Families sorted by name, children by label values, buckets cumulative.
  CHECK(registry.expose() ==
        "# HELP weft_latency_seconds Request latency.\n"
        "# TYPE weft_latency_seconds histogram\n"
        "weft_latency_seconds_bucket{route=\"r1\",le=\"0.25\"} 2\n"
        "weft_latency_seconds_bucket{route=\"r1\",le=\"0.5\"} 2\n"
        "weft_latency_seconds_bucket{route=\"r1\",le=\"1\"} 3\n"
        "weft_latency_seconds_bucket{route=\"r1\",le=\"+Inf\"} 4\n"
        "weft_latency_seconds_sum{route=\"r1\"} 4.125\n"
        "weft_latency_seconds_count{route=\"r1\"} 4\n"
        "# HELP weft_open_connections Open connections.\n"
        "# TYPE weft_open_connections gauge\n"
        "weft_open_connections 4\n"
        "# HELP weft_requests_total Requests handled.\n"
        "# TYPE weft_requests_total counter\n"
        "weft_requests_total{direction=\"inbound\",code=\"200\"} 1\n"
        "weft_requests_total{direction=\"inbound\",code=\"503\"} 2\n"
        "weft_requests_total{direction=\"outbound\",code=\"200\"} 3\n");
}

TEST_CASE("exposition does not depend on registration or update order", "[metrics]") {
  Registry a;
  a.counter("b_total", "B.", {"x"}).with_labels({"2"}).inc();
  a.counter("b_total", "B.", {"x"}).with_labels({"1"}).inc();
  a.gauge("a", "A.").get().set(1);

  Registry b;
  b.gauge("a", "A.").get().set(1);
  b.counter("b_total", "B.", {"x"}).with_labels({"1"}).inc();
  b.counter("b_total", "B.", {"x"}).with_labels({"2"}).inc();

  CHECK(a.expose() == b.expose());
}

TEST_CASE("label values and help text are escaped", "[metrics]") {
  Registry registry;
  registry.counter("c_total", "Help with \\ and \"quotes\"\nand a newline.", {"path"})
      .with_labels({"a\\b\"c\nd"})
      .inc();
  CHECK(registry.expose() ==
        "# HELP c_total Help with \\\\ and \"quotes\"\\nand a newline.\n"
        "# TYPE c_total counter\n"
        "c_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("label values may be empty or UTF-8", "[metrics]") {
  Registry registry;
  auto& family = registry.gauge("g", "G.", {"a", "b"});
  family.with_labels({"", "héllo"}).set(1);
  CHECK(registry.expose() ==
        "# HELP g G.\n"
        "# TYPE g gauge\n"
        "g{a=\"\",b=\"héllo\"} 1\n");
}

TEST_CASE("families without labels are exposed at zero before any update", "[metrics]") {
  Registry registry;
  registry.counter("c_total", "C.");
  registry.histogram("h", "H.", {1});
  registry.gauge("labelled", "L.", {"k"});  // no child yet: no sample
  CHECK(registry.expose() ==
        "# HELP c_total C.\n"
        "# TYPE c_total counter\n"
        "c_total 0\n"
        "# HELP h H.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 0\n"
        "h_bucket{le=\"+Inf\"} 0\n"
        "h_sum 0\n"
        "h_count 0\n"
        "# HELP labelled L.\n"
        "# TYPE labelled gauge\n");
}

TEST_CASE("empty help omits the HELP line", "[metrics]") {
  Registry registry;
  registry.counter("c_total", "");
  CHECK(registry.expose() == "# TYPE c_total counter\nc_total 0\n");
}

TEST_CASE("gauge values use Prometheus spellings", "[metrics]") {
  Registry registry;
  auto& gauge = registry.gauge("g", "G.", {"case"});
  gauge.with_labels({"a_nan"}).set(std::numeric_limits<double>::quiet_NaN());
  gauge.with_labels({"b_pos_inf"}).set(std::numeric_limits<double>::infinity());
  gauge.with_labels({"c_neg_inf"}).set(-std::numeric_limits<double>::infinity());
  gauge.with_labels({"d_fraction"}).set(0.1);
  gauge.with_labels({"e_negative"}).set(-2.5);
  gauge.with_labels({"f_large"}).set(1e21);
  gauge.with_labels({"g_integer"}).set(1714564800);
  CHECK(registry.expose() ==
        "# HELP g G.\n"
        "# TYPE g gauge\n"
        "g{case=\"a_nan\"} NaN\n"
        "g{case=\"b_pos_inf\"} +Inf\n"
        "g{case=\"c_neg_inf\"} -Inf\n"
        "g{case=\"d_fraction\"} 0.1\n"
        "g{case=\"e_negative\"} -2.5\n"
        "g{case=\"f_large\"} 1e+21\n"
        "g{case=\"g_integer\"} 1714564800\n");
}

TEST_CASE("gauge moves both ways", "[metrics]") {
  Registry registry;
  weft::Gauge& gauge = registry.gauge("g", "G.").get();
  gauge.inc();
  gauge.inc();
  gauge.dec();
  gauge.add(2.5);
  CHECK(gauge.value() == 3.5);
  gauge.set(-1);
  CHECK(gauge.value() == -1);
}

TEST_CASE("histogram buckets are inclusive upper bounds and cumulative", "[metrics]") {
  Registry registry;
  weft::Histogram& h = registry.histogram("h", "H.", {1, 2, 5}).get();
  for (double v : {-3.0, 0.0, 1.0, 1.5, 2.0, 4.0, 5.0, 5.5, 100.0}) h.observe(v);
  CHECK(h.count() == 9);
  CHECK(h.sum() == 116.0);
  CHECK(registry.expose() ==
        "# HELP h H.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 3\n"
        "h_bucket{le=\"2\"} 5\n"
        "h_bucket{le=\"5\"} 7\n"
        "h_bucket{le=\"+Inf\"} 9\n"
        "h_sum 116\n"
        "h_count 9\n");
}

TEST_CASE("histogram puts NaN and +Inf in the +Inf bucket only", "[metrics]") {
  Registry registry;
  weft::Histogram& h = registry.histogram("h", "H.", {1}).get();
  h.observe(std::numeric_limits<double>::infinity());
  h.observe(std::numeric_limits<double>::quiet_NaN());
  CHECK(h.count() == 2);
  CHECK(std::isnan(h.sum()));
  CHECK(registry.expose() ==
        "# HELP h H.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 0\n"
        "h_bucket{le=\"+Inf\"} 2\n"
        "h_sum NaN\n"
        "h_count 2\n");
}

TEST_CASE("histogram with no bounds has only the +Inf bucket", "[metrics]") {
  Registry registry;
  registry.histogram("h", "H.", {}).get().observe(7);
  CHECK(registry.expose() ==
        "# HELP h H.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"+Inf\"} 1\n"
        "h_sum 7\n"
        "h_count 1\n");
}

TEST_CASE("histogram children of one family are independent", "[metrics]") {
  Registry registry;
  auto& family = registry.histogram("h", "H.", {0.5}, {"route"});
  family.with_labels({"a"}).observe(0.1);
  family.with_labels({"b"}).observe(1);
  family.with_labels({"b"}).observe(2);
  CHECK(family.with_labels({"a"}).count() == 1);
  CHECK(family.with_labels({"b"}).count() == 2);
  CHECK(family.with_labels({"b"}).sum() == 3);
}

TEST_CASE("a child is created once and its reference is stable", "[metrics]") {
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"k"});
  weft::Counter& first = family.with_labels({"x"});
  for (int i = 0; i < 100; ++i) family.with_labels({std::to_string(i)});  // grow the map
  CHECK(&family.with_labels({"x"}) == &first);
  first.inc(7);
  CHECK(family.with_labels({"x"}).value() == 7);
}

TEST_CASE("a removed child is no longer exposed and starts over if used again", "[metrics]") {
  Registry registry;
  auto& family = registry.gauge("g", "G.", {"namespace"});
  family.with_labels({"gone"}).set(40);
  family.with_labels({"kept"}).set(2);
  CHECK(family.remove({"gone"}));
  CHECK_FALSE(family.remove({"gone"}));
  CHECK_FALSE(family.remove({"never"}));
  CHECK(registry.expose() ==
        "# HELP g G.\n"
        "# TYPE g gauge\n"
        "g{namespace=\"kept\"} 2\n");
  CHECK(family.with_labels({"gone"}).value() == 0);
}

TEST_CASE("concurrent updates from several threads add up exactly", "[metrics]") {
  Registry registry;
  auto& counters = registry.counter("c_total", "C.", {"k"});
  auto& gauge = registry.gauge("g", "G.").get();
  auto& histogram = registry.histogram("h", "H.", {0.5, 1.5}).get();
  constexpr int kThreads = 8;
  constexpr int kIterations = 20'000;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      weft::Counter& cached = counters.with_labels({"shared"});
      for (int i = 0; i < kIterations; ++i) {
        cached.inc();
        // Half the threads also race on child creation and lookup.
        if (t % 2 == 0) counters.with_labels({std::to_string(i % 16)}).inc(2);
        gauge.inc();
        gauge.dec();
        gauge.add(1);
        histogram.observe(1);
      }
    });
  }
  // Scrape while updates run: must be safe (ASan build) and well-formed.
  std::thread scraper([&registry] {
    for (int i = 0; i < 50; ++i) CHECK_THAT(registry.expose(), Catch::StartsWith("# HELP"));
  });
  for (auto& thread : threads) thread.join();
  scraper.join();

  CHECK(counters.with_labels({"shared"}).value() == kThreads * kIterations);
  std::uint64_t spread = 0;
  for (int k = 0; k < 16; ++k) spread += counters.with_labels({std::to_string(k)}).value();
  CHECK(spread == 2u * (kThreads / 2) * kIterations);
  CHECK(gauge.value() == kThreads * kIterations);
  CHECK(histogram.count() == kThreads * kIterations);
  CHECK(histogram.sum() == kThreads * kIterations);
  CHECK_THAT(registry.expose(), Catch::Contains("h_bucket{le=\"0.5\"} 0\n"
                                                "h_bucket{le=\"1.5\"} 160000\n"));
}

TEST_CASE("invalid metric names throw at registration", "[metrics]") {
  Registry registry;
  for (const char* bad : {"", "1abc", "a-b", "a b", "a.b", "h\xc3\xa9", "a\n"}) {
    INFO(bad);
    CHECK_THAT(invalid_argument_message([&] { registry.counter(bad, "C."); }),
               Catch::Contains("invalid metric name"));
  }
  for (const char* good : {"a", "_a", ":a", "a:b_c9", "A_Z"}) {
    INFO(good);
    CHECK_NOTHROW(registry.counter(good, "C."));
  }
  CHECK(registry.expose().find("1abc") == std::string::npos);  // nothing half-registered
}

TEST_CASE("invalid label names throw at registration", "[metrics]") {
  Registry registry;
  for (const char* bad : {"", "1a", "a:b", "a-b", "a b"}) {
    INFO(bad);
    CHECK_THAT(invalid_argument_message([&] { registry.counter("c_total", "C.", {bad}); }),
               Catch::Contains("invalid label name"));
  }
  CHECK_THAT(invalid_argument_message([&] { registry.counter("c_total", "C.", {"__name__"}); }),
             Catch::Contains("reserved"));
  CHECK_THAT(invalid_argument_message([&] {
               registry.counter("c_total", "C.", {"a", "b", "a"});
             }),
             Catch::Contains("\"a\" appears twice"));
  CHECK_THAT(invalid_argument_message([&] { registry.histogram("h", "H.", {1}, {"le"}); }),
             Catch::Contains("\"le\" is reserved"));
  CHECK_NOTHROW(registry.counter("c_total", "C.", {"le", "_x", "A9"}));
}

TEST_CASE("invalid histogram bounds throw at registration", "[metrics]") {
  Registry registry;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto register_with = [&registry](std::vector<double> bounds) {
    return invalid_argument_message([&] { registry.histogram("h", "H.", bounds); });
  };
  CHECK_THAT(register_with({1, inf}), Catch::Contains("not finite"));
  CHECK_THAT(register_with({-inf}), Catch::Contains("not finite"));
  CHECK_THAT(register_with({nan}), Catch::Contains("not finite"));
  CHECK_THAT(register_with({1, 1}), Catch::Contains("strictly increasing"));
  CHECK_THAT(register_with({2, 1}), Catch::Contains("strictly increasing"));
  CHECK_NOTHROW(registry.histogram("h", "H.", {-1, 0, 0.5}));
}

TEST_CASE("wrong number of label values throws", "[metrics]") {
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"a", "b"});
  CHECK_THROWS_AS(family.with_labels({"x"}), std::invalid_argument);
  CHECK_THROWS_AS(family.with_labels({"x", "y", "z"}), std::invalid_argument);
  CHECK_THROWS_AS(family.get(), std::invalid_argument);
  CHECK_THROWS_AS(registry.counter("plain_total", "P.").with_labels({"x"}), std::invalid_argument);
}

TEST_CASE("registering the same shape twice returns the same family", "[metrics]") {
  Registry registry;
  auto& first = registry.counter("c_total", "C.", {"a"});
  auto& second = registry.counter("c_total", "C.", {"a"});
  CHECK(&first == &second);
  first.with_labels({"x"}).inc();
  CHECK(second.with_labels({"x"}).value() == 1);

  auto& h1 = registry.histogram("h", "H.", {1, 2});
  CHECK(&registry.histogram("h", "H.", {1, 2}) == &h1);
  CHECK(&registry.gauge("g", "G.") == &registry.gauge("g", "G."));
}

TEST_CASE("registering a different shape under the same name throws", "[metrics]") {
  Registry registry;
  registry.counter("m", "M.", {"a", "b"});
  registry.histogram("h", "H.", {1, 2});

  const auto conflict = Catch::Contains("\"m\" is already registered");
  CHECK_THAT(invalid_argument_message([&] { registry.gauge("m", "M.", {"a", "b"}); }), conflict);
  CHECK_THAT(invalid_argument_message([&] { registry.counter("m", "M.", {"a"}); }), conflict);
  CHECK_THAT(invalid_argument_message([&] { registry.counter("m", "M.", {"b", "a"}); }), conflict);
  CHECK_THAT(invalid_argument_message([&] {
               registry.counter("m", "Other.", {"a", "b"});
             }),
             conflict);
  CHECK_THAT(invalid_argument_message([&] {
               registry.histogram("h", "H.", {1, 3});
             }),
             Catch::Contains("\"h\" is already registered"));
  CHECK_THAT(invalid_argument_message([&] {
               registry.histogram("m", "M.", {1}, {"a", "b"});
             }),
             Catch::Contains("as counter") && Catch::Contains("as histogram"));
}

TEST_CASE("content type names the format expose() writes", "[metrics]") {
  // A scraper picks its parser by this header: expose() writes the text format
  // 0.0.4 (# HELP and # TYPE lines, no OpenMetrics "# EOF" terminator), in UTF-8.
  Registry registry;
  registry.counter("weft_things_total", "Things.").get().inc();
  const std::string text = registry.expose();
  CHECK(text.find("# HELP weft_things_total Things.\n") != std::string::npos);
  CHECK(text.find("# TYPE weft_things_total counter\n") != std::string::npos);
  CHECK(text.find("# EOF") == std::string::npos);
  const std::string_view type = weft::kPrometheusContentType;
  CHECK(type.starts_with("text/plain;"));
  CHECK(type.find("version=0.0.4") != std::string_view::npos);
  CHECK(type.find("charset=utf-8") != std::string_view::npos);
}
