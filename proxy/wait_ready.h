#pragma once

// `weft-proxy wait-ready`: what the webhook runs as the proxy container's
// postStart hook in classic-sidecar mode (API servers before 1.29). The kubelet
// starts the app containers only once the hook returns, so the app's first
// connections find the proxy listening. It polls the admin port's /ready on
// loopback until it answers 200 (exit 0) or the timeout passes (exit 1).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/settings.h"
#include "weft/constants.h"
#include "weft/result.h"

namespace weft::proxy {

struct WaitReadySettings {
  std::string address = "127.0.0.1";
  std::uint16_t admin_port = kProxyAdminPort;
  std::chrono::milliseconds timeout{120'000};  // as long as the native startup probe's budget
  std::chrono::milliseconds interval{100};
};

// Flags after "wait-ready": --admin-port (or WEFT_PROXY_ADMIN_PORT, which the
// webhook sets), --timeout (or WEFT_PROXY_WAIT_READY_TIMEOUT), --address.
// "--help" yields an Error whose message is the usage text and sets *help_requested.
Result<WaitReadySettings> parse_wait_ready_settings(const std::vector<std::string>& args,
                                                    const EnvLookup& env,
                                                    bool* help_requested = nullptr);

// One GET /ready; true on a 200.
bool is_ready(const std::string& address, std::uint16_t port, std::chrono::milliseconds io_timeout);

// Polls until ready (0) or the timeout (1), saying so on stderr.
int wait_ready(const WaitReadySettings& settings);

}  // namespace weft::proxy
