// CPU cost of one inbound authorization decision (proxy/authz/inbound_policy.h)
// without I/O, one thread: a MeshPolicy with no authorization (none), or an
// authorization of 0, 10 or 100 allow rules. Each rule names an identity, a
// path prefix and methods (every other rule a CIDR too); only the last rule
// admits the client, so an allowed request is checked against every rule, and
// a denied one (another identity) too: the worst case for a policy of that
// size. Prints ns per decision, the median of ROUNDS rounds of ITERATIONS
// decisions. Given RULES and a VERDICT it measures that one case (one round),
// which bench/proxy/authz.sh runs under callgrind twice (ITERATIONS and
// 2 x ITERATIONS) for the instructions per decision.
//   authz_decision [ITERATIONS] [ROUNDS] [RULES VERDICT]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "proxy/authz/inbound_policy.h"
#include "weft/flags.h"
#include "weft/proxyconfig/document.h"

namespace {

namespace flags = weft::flags;
namespace authz = weft::proxy::authz;
namespace pc = weft::proxyconfig;

constexpr std::uint16_t kPort = 8080;

struct Options {
  std::vector<std::string> arguments;  // [ITERATIONS] [ROUNDS] [RULES VERDICT]
};

const flags::Program<Options>& program() {
  static const flags::Program<Options> table{
      .usage = "Usage: authz_decision [ITERATIONS] [ROUNDS] [RULES VERDICT]",
      .about =
          "ns per authorization decision with 0, 10 and 100 allow rules (and none),\n"
          "one thread: ITERATIONS decisions per round (default 1000000), ROUNDS rounds\n"
          "(default 5), medians over the rounds. RULES (none or a count) and VERDICT\n"
          "(allow or deny) measure one case, one round.",
      .flags = {flags::arguments(
          &Options::arguments,
          [](std::string_view v) -> weft::Result<std::string> { return std::string(v); },
          "[ITERATIONS] [ROUNDS] [RULES VERDICT]", "the counts, and one case")},
  };
  return table;
}

int usage_error(const std::string& message) {
  std::cerr << "authz_decision: " << message << " (see --help)\n";
  return 2;
}

// The namespace's document: one policy for port 8080 with `rules` allow rules
// (no authorization at all when unset).
pc::Document document_with(std::optional<int> rules) {
  pc::Document document;
  pc::InboundPolicy policy;
  policy.name = "bench";
  policy.ports = {kPort};
  if (rules) {
    pc::Authorization authorization;
    authorization.default_action = pc::AuthorizationAction::kDeny;
    for (int i = 0; i < *rules; ++i) {
      const bool last = i == *rules - 1;
      pc::AuthorizationRule rule;
      rule.identities = {{"team-" + std::to_string(i), "svc-" + std::to_string(i)}};
      rule.paths = {{pc::AuthorizationPathType::kPathPrefix, "/svc-" + std::to_string(i)}};
      rule.methods = {"GET", "POST"};
      if (i % 2 == 1) rule.cidrs = {"10." + std::to_string(i) + ".0.0/16"};
      if (last) {  // the one rule the allowed client matches
        rule.identities.push_back({"shop", "checkout"});
        rule.paths.push_back({pc::AuthorizationPathType::kPathPrefix, "/v1/charges"});
        rule.cidrs = {"10.244.0.0/16"};
      }
      authorization.rules.push_back(std::move(rule));
    }
    policy.authorization = std::move(authorization);
  }
  document.inbound.policies.push_back(std::move(policy));
  return document;
}

struct Case {
  std::string rules;  // "none" or the count
  bool allowed;       // the verdict the client gets
  std::shared_ptr<const authz::InboundPolicies> policies;
  authz::Client client;
};

// The client and request of a case: the last rule's identity (allowed when
// there is a rule), or one no rule names.
Case make_case(const std::string& rules, bool allow) {
  std::optional<int> count;
  if (rules != "none") count = std::stoi(rules);
  Case c{rules, allow, authz::InboundPolicies::compile(document_with(count), {}), {}};
  c.client.identity = allow ? "spiffe://cluster.local/ns/shop/sa/checkout"
                            : "spiffe://cluster.local/ns/other/sa/stranger";
  c.client.address = boost::asio::ip::make_address("10.244.1.7");
  return c;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = flags::parse(program(), {argv + 1, argv + argc});
  if (!parsed) return usage_error(parsed.error().message);
  if (parsed->help) {
    std::cout << flags::usage(program());
    return 0;
  }
  const std::vector<std::string>& arguments = parsed->options.arguments;
  if (arguments.size() > 4 || arguments.size() == 3) {
    return usage_error("give [ITERATIONS] [ROUNDS] [RULES VERDICT]");
  }
  int iterations = 1000000, rounds = 5;
  for (auto [index, name, count] :
       {std::tuple{0U, "ITERATIONS", &iterations}, std::tuple{1U, "ROUNDS", &rounds}}) {
    if (index >= arguments.size()) break;
    auto n = flags::parse_integer(arguments[index], 1, std::numeric_limits<int>::max());
    if (!n) return usage_error(std::string(name) + ": " + n.error().message);
    *count = static_cast<int>(*n);
  }
  std::vector<Case> cases;
  if (arguments.size() == 4) {
    const std::string& rules = arguments[2];
    if (rules != "none" && !flags::parse_integer(rules, 0, 1000)) {
      return usage_error("RULES: none or 0 to 1000");
    }
    if (arguments[3] != "allow" && arguments[3] != "deny") {
      return usage_error("VERDICT: allow or deny");
    }
    cases.push_back(make_case(rules, arguments[3] == "allow"));
    rounds = 1;
  } else {
    cases.push_back(make_case("none", true));
    for (const char* rules : {"0", "10", "100"}) {
      if (std::string(rules) != "0") cases.push_back(make_case(rules, true));
      cases.push_back(make_case(rules, false));
    }
  }
  // Paths vary, as they do between requests; each matches the last rule.
  const std::vector<authz::HttpRequest> requests{{"GET", "/v1/charges/1"},
                                                 {"POST", "/v1/charges"},
                                                 {"GET", "/v1/charges/2/refunds"},
                                                 {"GET", "/v1/charges/3"}};
  std::uint64_t checksum = 0;
  for (const Case& c : cases) {
    // A wrong verdict would measure something else than meant.
    const auto check = c.policies->decide(kPort, c.client, requests[0]);
    if (check.allowed != c.allowed) {
      std::cerr << "authz_decision: rules=" << c.rules << " gave "
                << (check.allowed ? "allow" : "deny") << " (" << check.policy << " " << check.rule
                << "), expected " << (c.allowed ? "allow" : "deny") << "\n";
      return 1;
    }
    std::vector<double> ns;
    for (int round = 0; round < rounds; ++round) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) {
        const auto decision = c.policies->decide(kPort, c.client, requests[i & 3]);
        checksum += decision.allowed + decision.rule.size();
      }
      const std::chrono::duration<double, std::nano> took =
          std::chrono::steady_clock::now() - start;
      ns.push_back(took.count() / iterations);
    }
    std::cout << "rules=" << c.rules << " verdict=" << (c.allowed ? "allow" : "deny")
              << " decided_by=" << check.policy << "/" << check.rule
              << " ns_per_decision=" << median(ns) << " rounds=" << rounds
              << " iterations=" << iterations << "\n";
  }
  std::cout << "(checksum " << checksum % 7 << ")\n";
  return 0;
}
