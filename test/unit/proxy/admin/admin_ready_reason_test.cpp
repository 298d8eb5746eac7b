// /ready with a further condition (the identity client's): 503 with the
// reason while it is not met, 200 once it is, and shutdown still wins.

#include <catch2/catch.hpp>
#include <sstream>

#include "proxy/admin/admin_server.h"

using namespace weft::proxy;

TEST_CASE("/ready answers 503 with the reason while a further condition is unmet",
          "[admin][identity]") {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  std::atomic<bool> ready{true};
  std::string reason = "no identity certificate yet";
  AdminState state{store, registry, ready, metrics};
  state.not_ready_reason = [&reason] { return reason; };

  const std::string waiting = admin_response(state, "GET", "/ready", false, AdminCaller::kNetwork);
  CHECK_THAT(waiting, Catch::StartsWith("HTTP/1.1 503"));
  CHECK_THAT(waiting, Catch::EndsWith("not ready: no identity certificate yet\n"));

  reason.clear();
  CHECK_THAT(admin_response(state, "GET", "/ready", false, AdminCaller::kNetwork),
             Catch::StartsWith("HTTP/1.1 200"));

  ready = false;  // shutting down
  CHECK_THAT(admin_response(state, "GET", "/ready", false, AdminCaller::kNetwork),
             Catch::EndsWith("not ready\n"));
}
