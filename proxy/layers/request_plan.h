#pragma once

// The layers before the tries, for a request of any codec: admission,
// authorization (inbound: the current policies, so a switch to Strict or a
// policy that now refuses holds from the next request on) and routing. The
// request is routed even when refused: its route labels its metrics.

#include <string>
#include <string_view>

#include "proxy/core/worker.h"
#include "proxy/layers/routing.h"
#include "proxy/request/request.h"

namespace weft::proxy {

// `probe_capable`: plaintext of this protocol may be a kubelet probe (HTTP/1;
// the kubelet does not probe over HTTP/2). A refusal's text body, when it
// has one, goes to `refusal_body` (the plan's local answer views it).
Plan plan_request(Worker& worker, const ConnectionTarget& target, std::string_view destination_text,
                  Request& request, bool probe_capable, std::string& refusal_body);

}  // namespace weft::proxy
