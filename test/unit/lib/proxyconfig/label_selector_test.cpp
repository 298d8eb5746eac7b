// selector_matches (lib/weft/proxyconfig/label_selector.h): Kubernetes label
// selectors, shared by the operator and the proxy.

#include "weft/proxyconfig/label_selector.h"

#include <catch2/catch.hpp>

namespace pc = weft::proxyconfig;

namespace {

using Labels = std::map<std::string, std::string>;

pc::LabelSelector expression(std::string key, pc::SelectorOperator op,
                             std::vector<std::string> values = {}) {
  pc::LabelSelector selector;
  selector.match_expressions.push_back({std::move(key), op, std::move(values)});
  return selector;
}

}  // namespace

TEST_CASE("label selector: empty selects every pod", "[label_selector]") {
  CHECK(pc::selector_matches(pc::LabelSelector{}, Labels{}));
  CHECK(pc::selector_matches(pc::LabelSelector{}, Labels{{"app", "a"}}));
}

TEST_CASE("label selector: matchLabels needs every pair", "[label_selector]") {
  pc::LabelSelector selector;
  selector.match_labels = {{"app", "a"}, {"tier", "web"}};
  CHECK(pc::selector_matches(selector, Labels{{"app", "a"}, {"tier", "web"}, {"x", "y"}}));
  CHECK_FALSE(pc::selector_matches(selector, Labels{{"app", "a"}}));
  CHECK_FALSE(pc::selector_matches(selector, Labels{{"app", "a"}, {"tier", "db"}}));
  CHECK_FALSE(pc::selector_matches(selector, Labels{{"app", "A"}, {"tier", "web"}}));
}

TEST_CASE("label selector: matchExpressions", "[label_selector]") {
  using Op = pc::SelectorOperator;
  const auto [op, has_label, value, selected] = GENERATE(table<Op, bool, const char*, bool>({
      {Op::kIn, true, "web", true},
      {Op::kIn, true, "db", false},
      {Op::kIn, false, "", false},
      {Op::kNotIn, true, "web", false},
      {Op::kNotIn, true, "db", true},
      {Op::kNotIn, false, "", true},  // as Kubernetes: a missing key is not in the set
      {Op::kExists, true, "", true},
      {Op::kExists, false, "", false},
      {Op::kDoesNotExist, true, "db", false},
      {Op::kDoesNotExist, false, "", true},
  }));
  const auto selector = expression("tier", op, {"web", "api"});
  Labels labels{{"app", "a"}};
  if (has_label) labels["tier"] = value;
  CHECK(pc::selector_matches(selector, labels) == selected);
}

TEST_CASE("label selector: matchLabels AND matchExpressions, both map types", "[label_selector]") {
  auto selector = expression("canary", pc::SelectorOperator::kDoesNotExist);
  selector.match_labels = {{"app", "a"}};
  const std::map<std::string, std::string, std::less<>> pod{{"app", "a"}, {"canary", "1"}};
  CHECK_FALSE(pc::selector_matches(selector, pod));
  CHECK(pc::selector_matches(selector, {{"app", "a"}}));
  CHECK_FALSE(pc::selector_matches(selector, {{"app", "b"}}));
}
