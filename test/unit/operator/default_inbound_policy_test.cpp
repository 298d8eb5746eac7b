// The namespace's default inbound policy: the operator's flag, the Namespace's
// annotation over it, fail-closed on an unknown word, and what the document
// and the reconcile say.

#include "operator/default_inbound_policy.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "operator/namespace_plan.h"
#include "operator/options.h"
#include "operator/reconciler.h"
#include "plan_helpers.h"
#include "recording_writer.h"
#include "weft/constants.h"
#include "weft/metrics.h"

using nlohmann::json;
using namespace weft::op;
namespace pc = weft::proxyconfig;
using weft::op::test::document_of;
using Policy = pc::DefaultInboundPolicy;

namespace {

json namespace_json(const std::optional<std::string>& annotation) {
  json ns = {{"metadata",
              {{"name", "shop"}, {"uid", "ns-uid"}, {"labels", {{"weft.io/inject", "enabled"}}}}}};
  if (annotation) {
    ns["metadata"]["annotations"] = {
        {std::string(weft::kDefaultInboundPolicyAnnotation), *annotation}};
  }
  return ns;
}

NamespacePlan plan_with(const std::optional<std::string>& annotation, Policy flag) {
  NamespaceInput input;
  input.ns = "shop";
  input.namespace_object =
      std::make_shared<const NamespaceModel>(parse_namespace(namespace_json(annotation)));
  input.default_inbound_policy = flag;
  return plan_namespace(input, "2026-01-01T00:00:00Z");
}

}  // namespace

TEST_CASE("default inbound policy: the four words, in any case", "[default-policy]") {
  CHECK(parse_default_inbound_policy("all-unauthenticated") == Policy::kAllUnauthenticated);
  CHECK(parse_default_inbound_policy("All-Authenticated") == Policy::kAllAuthenticated);
  CHECK(parse_default_inbound_policy("SAME-NAMESPACE") == Policy::kSameNamespace);
  CHECK(parse_default_inbound_policy("Deny") == Policy::kDeny);
  CHECK_FALSE(parse_default_inbound_policy("").has_value());
  CHECK_FALSE(parse_default_inbound_policy("allow").has_value());
  CHECK_FALSE(parse_default_inbound_policy(" deny").has_value());
}

TEST_CASE("default inbound policy: the annotation overrides the flag; unknown fails closed",
          "[default-policy]") {
  struct Case {
    std::optional<std::string> annotation;
    Policy flag;
    Policy expected;
    bool problem;
  };
  const std::vector<Case> cases = {
      {std::nullopt, Policy::kAllUnauthenticated, Policy::kAllUnauthenticated, false},
      {std::nullopt, Policy::kSameNamespace, Policy::kSameNamespace, false},
      {"deny", Policy::kAllUnauthenticated, Policy::kDeny, false},
      {"All-Unauthenticated", Policy::kDeny, Policy::kAllUnauthenticated, false},
      {"same-namespace", Policy::kAllAuthenticated, Policy::kSameNamespace, false},
      {"alow-all", Policy::kAllUnauthenticated, Policy::kDeny, true},
      {"", Policy::kAllUnauthenticated, Policy::kDeny, true},
  };
  for (const auto& c : cases) {
    INFO(c.annotation.value_or("(none)"));
    const auto choice = choose_default_inbound_policy(c.annotation, c.flag);
    CHECK(choice.policy == c.expected);
    CHECK(choice.problem.empty() != c.problem);
    const auto plan = plan_with(c.annotation, c.flag);
    CHECK(document_of(plan).inbound.default_policy == c.expected);
    CHECK(plan.default_inbound_policy_problem == choice.problem);
  }
  const auto bad = choose_default_inbound_policy(std::string("alow-all"), Policy::kDeny);
  CHECK_THAT(bad.problem, Catch::Contains("config.weft.io/default-inbound-policy") &&
                              Catch::Contains("\"alow-all\"") && Catch::Contains("deny"));
  // The value quoted in messages is the author's: bounded.
  const auto long_bad = choose_default_inbound_policy(std::string(5000, 'x'), Policy::kDeny);
  CHECK(long_bad.problem.size() < 400);
}

TEST_CASE("default inbound policy: the default keeps documents byte-identical",
          "[default-policy]") {
  const auto plain = plan_with(std::nullopt, Policy::kAllUnauthenticated);
  REQUIRE(plain.config.has_value());
  CHECK(plain.config->text.find("defaultPolicy") == std::string::npos);
  const auto explicit_default = plan_with("all-unauthenticated", Policy::kDeny);
  REQUIRE(explicit_default.config.has_value());
  CHECK(explicit_default.config->text == plain.config->text);
  const auto deny = plan_with("deny", Policy::kAllUnauthenticated);
  REQUIRE(deny.config.has_value());
  CHECK(deny.config->text.find("\"defaultPolicy\":\"deny\"") != std::string::npos);
}

TEST_CASE("default inbound policy: --default-inbound-policy", "[default-policy][options]") {
  auto defaults = parse_options({});
  REQUIRE(defaults.has_value());
  CHECK(defaults->default_inbound_policy == Policy::kAllUnauthenticated);
  auto set = parse_options({"--default-inbound-policy=same-namespace"});
  REQUIRE(set.has_value());
  CHECK(set->default_inbound_policy == Policy::kSameNamespace);
  auto bad = parse_options({"--default-inbound-policy=open"});
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message,
             Catch::Contains("--default-inbound-policy") && Catch::Contains("\"open\"") &&
                 Catch::Contains("all-unauthenticated, all-authenticated, same-namespace or deny"));
  CHECK_THAT(usage(), Catch::Contains("--default-inbound-policy"));
}

TEST_CASE("default inbound policy: a bad annotation raises one Warning Event on the Namespace",
          "[default-policy][reconciler]") {
  std::ostringstream log_text;
  weft::Logger logger{"operator", weft::LogLevel::kInfo, weft::ostream_sink(log_text)};
  weft::Registry registry;
  OperatorMetrics metrics{registry};
  Caches caches;
  op_test::RecordingWriter writer;
  Reconciler reconciler{
      caches,
      writer,
      logger,
      metrics,
      ReconcilerOptions{
          {}, [] { return true; }, [] { return std::string("2026-01-01T00:00:00Z"); }},
      [](const std::string&) {}};
  const auto set_annotation = [&](const std::optional<std::string>& value) {
    caches.namespaces.upsert({"", "shop"}, std::make_shared<const NamespaceModel>(
                                               parse_namespace(namespace_json(value))));
  };
  const auto events = [&] {
    std::vector<json> out;
    for (const auto& call : writer.calls()) {
      if (call.verb == "create_event") out.push_back(call.body);
    }
    return out;
  };
  set_annotation("opne");
  REQUIRE(reconciler.reconcile("shop").has_value());
  auto raised = events();
  REQUIRE(raised.size() == 1);
  CHECK(raised[0]["type"] == "Warning");
  CHECK(raised[0]["reason"] == "InvalidDefaultInboundPolicy");
  CHECK(raised[0]["involvedObject"]["kind"] == "Namespace");
  CHECK(raised[0]["involvedObject"]["name"] == "shop");
  CHECK_THAT(raised[0]["message"].get<std::string>(), Catch::Contains("\"opne\""));
  CHECK_THAT(log_text.str(), Catch::Contains("bad default inbound policy annotation"));

  writer.clear();
  REQUIRE(reconciler.reconcile("shop").has_value());  // the same bad value: no new Event
  CHECK(events().empty());

  set_annotation("0pen");  // another bad value: a new Event
  REQUIRE(reconciler.reconcile("shop").has_value());
  CHECK(events().size() == 1);

  writer.clear();
  set_annotation("deny");  // fixed, then broken again the same way: raised again
  REQUIRE(reconciler.reconcile("shop").has_value());
  CHECK(events().empty());
  set_annotation("0pen");
  REQUIRE(reconciler.reconcile("shop").has_value());
  CHECK(events().size() == 1);
}
