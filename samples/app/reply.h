#pragma once

// The sample app's answer, as a pure function of what happened: its identity,
// whether a failure was injected, and the result of each downstream call.
//
//   {"name":"api","version":"v1","pod":"api-7d9f","status":200,
//    "downstream":[{"url":"http://backend:8080/","status":200,"latency_ms":2.1,
//                   "body":{"name":"backend","version":"v2",...}}]}
//
// A downstream that failed (no response, or not 2xx) makes the answer 502, so a
// failure deep in a chain reaches the caller as a failure.

#include <string>
#include <vector>

#include "samples/common/http_client.h"

namespace weft::samples {

struct Identity {
  std::string name;
  std::string version;
  std::string pod_name;
};

struct DownstreamCall {
  std::string url;
  CallResult result;
};

struct Reply {
  int status = 200;
  std::string body;  // JSON
};

bool call_succeeded(const CallResult& result);

Reply build_reply(const Identity& identity, bool injected_failure,
                  const std::vector<DownstreamCall>& calls);

}  // namespace weft::samples
