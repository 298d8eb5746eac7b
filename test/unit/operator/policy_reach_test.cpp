// Where each MeshPolicy's server-side sections are enforced, by the proxy's
// rule: per pod and section, the first selecting policy that covers a port and
// sets the section.

#include "operator/policy_reach.h"

#include <catch2/catch.hpp>

using namespace weft::op;
namespace pc = weft::proxyconfig;
using Labels = std::map<std::string, std::string>;

namespace {

pc::InboundPolicy policy(const std::string& name, Labels selector, bool mtls, bool authz, bool rate,
                         std::vector<std::uint16_t> ports = {}) {
  pc::InboundPolicy out;
  out.name = name;
  out.pod_selector.match_labels = std::move(selector);
  out.ports = std::move(ports);
  if (mtls) out.mtls = pc::MtlsMode::kStrict;
  if (authz) out.authorization = pc::Authorization{};
  if (rate) out.rate_limit = pc::RateLimit{10, 10};
  return out;
}

std::shared_ptr<const PodModel> pod(const std::string& name, Labels labels, bool meshed = true,
                                    bool deleting = false) {
  auto out = std::make_shared<PodModel>();
  out->meta.name = name;
  out->meta.labels = std::move(labels);
  out->meta.deleting = deleting;
  out->meshed = meshed;
  return out;
}

}  // namespace

std::shared_ptr<const PodModel> finished(std::shared_ptr<const PodModel> pod) {
  auto out = std::make_shared<PodModel>(*pod);
  out->finished = true;
  return out;
}

TEST_CASE("policy reach: the proxy's first-wins rule, per pod and section", "[policy-reach]") {
  struct Case {
    std::string what;
    std::vector<pc::InboundPolicy> policies;
    std::vector<std::shared_ptr<const PodModel>> pods;
    std::string name;  // the policy looked at
    std::size_t selected, selected_meshed, enforced;
    std::vector<std::string> not_meshed;
  };
  const std::vector<Case> cases = {
      {"selects no pod",
       {policy("p", {{"app", "web"}}, true, false, false)},
       {pod("a", {{"app", "db"}})},
       "p",
       0,
       0,
       0,
       {}},
      {"selects only unmeshed pods, named in order, at most five",
       {policy("p", {{"app", "web"}}, false, true, false)},
       {pod("w7", {{"app", "web"}}, false), pod("w1", {{"app", "web"}}, false),
        pod("w3", {{"app", "web"}}, false), pod("w2", {{"app", "web"}}, false),
        pod("w5", {{"app", "web"}}, false), pod("w4", {{"app", "web"}}, false)},
       "p",
       6,
       0,
       0,
       {"w1", "w2", "w3", "w4", "w5"}},
      {"a pod that has finished (Succeeded, Failed) does not count",
       {policy("p", {}, true, false, false)},
       {finished(pod("a", {})), pod("b", {})},
       "p",
       1,
       1,
       1,
       {}},
      {"a pod being deleted does not count",
       {policy("p", {}, true, false, false)},
       {pod("a", {}, true, true), pod("b", {})},
       "p",
       1,
       1,
       1,
       {}},
      {"the later of two policies setting the same section on every port is overridden",
       {policy("first", {}, true, false, false),
        policy("later", {{"app", "web"}}, true, false, false)},
       {pod("a", {{"app", "web"}}), pod("b", {{"app", "web"}})},
       "later",
       2,
       2,
       0,
       {}},
      {"a later policy wins a section the earlier one does not set",
       {policy("first", {}, true, false, false),
        policy("later", {{"app", "web"}}, true, true, false)},
       {pod("a", {{"app", "web"}})},
       "later",
       1,
       1,
       1,
       {}},
      {"an earlier policy for one port leaves the other ports to the later one",
       {policy("port", {{"app", "web"}}, true, false, false, {8443}),
        policy("all", {}, true, false, false)},
       {pod("a", {{"app", "web"}}), pod("b", {})},
       "all",
       2,
       2,
       2,
       {}},
      {"two port policies: the later is overridden on the port they share",
       {policy("first", {}, false, false, true, {80, 443}),
        policy("later", {}, false, false, true, {443})},
       {pod("a", {})},
       "later",
       1,
       1,
       0,
       {}},
      {"the winner counts only meshed pods",
       {policy("p", {}, false, true, false)},
       {pod("a", {}), pod("b", {}, false)},
       "p",
       2,
       1,
       1,
       {"b"}},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      const auto reach = policy_reach(c.policies, c.pods);
      REQUIRE(reach.count(c.name) == 1);
      const auto& r = reach.at(c.name);
      CHECK(r.selected == c.selected);
      CHECK(r.selected_meshed == c.selected_meshed);
      CHECK(r.enforced == c.enforced);
      CHECK(r.not_meshed == c.not_meshed);
    }
  }
}

TEST_CASE("policy reach: the sections a policy sets, in the document's words", "[policy-reach]") {
  const auto reach = policy_reach({policy("p", {}, true, false, true)}, {});
  CHECK(reach.at("p").sections == std::vector<std::string>{"mtls", "rateLimit"});
  CHECK(reach.at("p").selected == 0);
}

TEST_CASE("policy reach: each section counts the pods where the policy wins it", "[policy-reach]") {
  // first sets authorization for web pods; later sets it and a rate limit for all.
  const auto reach = policy_reach({policy("first", {{"app", "web"}}, false, true, false),
                                   policy("later", {}, false, true, true)},
                                  {pod("web-1", {{"app", "web"}}), pod("api-1", {{"app", "api"}}),
                                   pod("api-2", {{"app", "api"}}, false)});
  const auto& later = reach.at("later");
  CHECK(later.sections == std::vector<std::string>{"authorization", "rateLimit"});
  CHECK(later.sections_enforced == std::vector<std::size_t>{1, 2});  // unmeshed api-2 not counted
  CHECK(later.enforced == 2);
  CHECK(reach.at("first").sections_enforced == std::vector<std::size_t>{1});
}
