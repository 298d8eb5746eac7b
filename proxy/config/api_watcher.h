#pragma once

// Watches this namespace's ConfigMap weft-proxy-config through the API server,
// with the pod's service-account token (the operator grants exactly that
// read), so a new document applies within a second instead of the kubelet's
// minute or so. Each version seen is offered to the ConfigStore; a deleted
// ConfigMap changes nothing (the last good document keeps serving).
//
// Its own small HTTPS client (Asio, OpenSSL, the proxy's HTTP/1 parser) on its
// own thread, rather than lib/weft/kube's libcurl one: libcurl and its
// dependency tree were most of the proxy's idle memory and of its image.
// Each request is one connection: the token and CA are read again for each
// (the kubelet rotates the token), failures reconnect after an exponential
// backoff with jitter, a watch that ends normally resumes at once from the
// last resourceVersion, and "410 Gone" starts afresh (ConfigMapWatchState).

#include <memory>
#include <thread>

#include "proxy/config/api_server_access.h"
#include "proxy/config/config_store.h"
#include "proxy/config/configmap_watch_state.h"
#include "proxy/core/asio.h"
#include "proxy/settings.h"
#include "weft/log.h"

namespace weft::proxy {

class ApiWatcher {
 public:
  // nullptr (and no error) when --kube-watch is off, or auto outside a cluster
  // (or without a service-account token: logged). An error when the watch was
  // asked for ("on") but cannot be set up.
  static Result<std::unique_ptr<ApiWatcher>> create(const Settings& settings, const EnvLookup& env,
                                                    ConfigStore& store, Logger& log);
  ApiWatcher(ApiServerAccess access, std::chrono::seconds watch_timeout, ConfigStore& store,
             Logger& log);
  ~ApiWatcher();  // stops at once (even mid-request) and joins
  ApiWatcher(const ApiWatcher&) = delete;
  ApiWatcher& operator=(const ApiWatcher&) = delete;

  void start();

 private:
  struct Outcome {
    bool progressed = false;  // the server answered usefully: reset the backoff
    bool again_now = false;   // a normal end (watch timeout, relist): no backoff
    std::string error;        // why the request failed, for the log
  };
  awaitable<void> run();
  awaitable<Outcome> request_once();
  // Handles one step of the watch protocol; false when the stream must end.
  bool apply(const ConfigMapWatchState::Step& step, Outcome& outcome);

  const ApiServerAccess access_;
  const std::chrono::seconds watch_timeout_;
  ConfigStore& store_;
  Logger& log_;
  ConfigMapWatchState state_;
  asio::io_context io_{1};
  std::thread thread_;
};

}  // namespace weft::proxy
