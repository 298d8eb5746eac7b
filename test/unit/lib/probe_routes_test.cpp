#include "weft/probe_routes.h"

#include <catch2/catch.hpp>

using weft::ProbeRoute;

TEST_CASE("probe routes: canonical text round-trips", "[probe_routes]") {
  const std::vector<ProbeRoute> routes = weft::canonical_probe_routes(
      {{8081, "/ready?x=1"}, {8080, "/healthz"}, {8080, "/a,b"}, {8080, "/healthz"}});
  CHECK(routes ==
        std::vector<ProbeRoute>{{8080, "/a,b"}, {8080, "/healthz"}, {8081, "/ready?x=1"}});
  const std::string text = weft::format_probe_routes(routes);
  CHECK(text == "8080/a,b 8080/healthz 8081/ready?x=1");
  auto parsed = weft::parse_probe_routes(text);
  REQUIRE(parsed);
  CHECK(*parsed == routes);
  auto none = weft::parse_probe_routes("");
  REQUIRE(none);
  CHECK(none->empty());
  CHECK(weft::format_probe_routes({}).empty());
}

TEST_CASE("probe routes: bad lists are refused with the item named", "[probe_routes]") {
  struct Case {
    const char* text;
    const char* message_part;
  };
  const std::vector<Case> cases = {
      {"8080", "no path"},
      {"/healthz", "not PORT/PATH"},
      {"0/healthz", "not PORT/PATH"},
      {"65536/healthz", "not PORT/PATH"},
      {"+80/healthz", "not PORT/PATH"},
      {"8080/a  8080/b", "empty item"},
      {"8080/a ", "empty item"},
      {" 8080/a", "empty item"},
      {"8080/a,8080/b 8080/a,8080/b", "listed twice"},
      {"8080/a b", "'b'"},
      {"8080/a#frag", "percent-encoded"},
      {"8080/a%zz", "two hex digits"},
      {"8080/a%4", "two hex digits"},
      {"8080/a%2Fb", "encoded '/'"},
      {"8080/a%5cb", "encoded '/'"},
      {"8080/caf\xc3\xa9", "not a visible ASCII"},
      {"8080/a\tb", "not a visible ASCII"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto parsed = weft::parse_probe_routes(c.text);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.message_part));
  }
}

TEST_CASE("probe routes: count and length are bounded", "[probe_routes]") {
  std::string text;
  for (std::size_t i = 0; i < weft::kMaxProbeRoutes; ++i) {
    text += (text.empty() ? "" : " ") + std::string("8080/p") + std::to_string(i);
  }
  CHECK(weft::parse_probe_routes(text));
  auto over = weft::parse_probe_routes(text + " 8080/one-more");
  REQUIRE_FALSE(over);
  CHECK_THAT(over.error().message, Catch::Contains("more than 32"));

  const std::string longest = "/" + std::string(weft::kMaxProbeTargetBytes - 1, 'a');
  CHECK_FALSE(weft::probe_target_problem(longest));
  const auto problem = weft::probe_target_problem(longest + "a");
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("longer than 256"));
}

TEST_CASE("probe targets: what the kubelet sends as written is accepted", "[probe_routes]") {
  for (const char* target : {"/", "/healthz", "/ready?x=1&y=%2F", "/a/../b", "/%2e%2E/x", "/q?a?b",
                             "/v1:check@x;y=(1)*!$'[]~"}) {
    INFO(target);
    CHECK_FALSE(weft::probe_target_problem(target));
  }
  CHECK(weft::probe_target_problem(""));
  CHECK(weft::probe_target_problem("healthz"));
  CHECK(weft::probe_target_problem("/a\"b"));
}

TEST_CASE("probe routes: the routes of one port", "[probe_routes]") {
  const std::vector<ProbeRoute> routes =
      weft::canonical_probe_routes({{80, "/a"}, {8080, "/b"}, {8080, "/c"}, {9090, "/d"}});
  const auto of_8080 = weft::probe_routes_of_port(routes, 8080);
  REQUIRE(of_8080.size() == 2);
  CHECK(of_8080[0].target == "/b");
  CHECK(of_8080[1].target == "/c");
  CHECK(weft::probe_routes_of_port(routes, 81).empty());
  CHECK(weft::probe_routes_of_port({}, 80).empty());
}

TEST_CASE("a parsed probe route is split into path and query once", "[probe]") {
  const auto routes = weft::parse_probe_routes("8080/healthz 8081/ready?x=1&y=?2 8082/empty?");
  REQUIRE(routes);
  REQUIRE(routes->size() == 3);
  const ProbeRoute& without_query = (*routes)[0];
  CHECK(without_query.path() == "/healthz");
  CHECK(without_query.query().empty());
  const ProbeRoute& with_query = (*routes)[1];
  CHECK(with_query.path() == "/ready");
  CHECK(with_query.query() == "x=1&y=?2");  // only the first '?' splits
  const ProbeRoute& empty_query = (*routes)[2];
  CHECK(empty_query.path() == "/empty");
  CHECK(empty_query.query().empty());
  // A copy keeps its split; routes compare by port and target alone.
  const ProbeRoute copy = with_query;
  CHECK(copy.path() == "/ready");
  CHECK(copy.query() == "x=1&y=?2");
  CHECK(copy == ProbeRoute(8081, "/ready?x=1&y=?2"));
  CHECK(ProbeRoute(8081, "/a") < ProbeRoute(8081, "/b"));
  CHECK(ProbeRoute(8080, "/b") < ProbeRoute(8081, "/a"));
}
