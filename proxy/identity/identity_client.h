#pragma once

// Obtains and renews the proxy's certificate from weft-identity
// (docs/identity.md, "Issuance protocol") and keeps it in the CredentialStore
// the TLS layer reads. On when the document carries `identity`; off (the
// plaintext mesh, logged once) otherwise.
//
// Each request makes a fresh P-256 key in memory (never written anywhere),
// sends its CSR with the projected ServiceAccount token (read again for each
// request: the kubelet rotates it) over TLS checked against the document's
// anchors and the name weft-identity.weft-system.svc, and stores the answer
// only once its chain verifies for exactly this pod's identity and its key is
// ours. When to ask is decide_renewal's (renewal.h). It runs on its own
// thread and io_context, like the ConfigMap watch, so the traffic workers
// never wait on it; it reads the document by polling ConfigStore's generation.

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "proxy/config/config_store.h"
#include "proxy/core/asio.h"
#include "proxy/identity/credentials.h"
#include "proxy/identity/identity_metrics.h"
#include "proxy/identity/issuance.h"
#include "proxy/identity/renewal.h"
#include "proxy/settings.h"
#include "weft/log.h"

namespace weft::proxy {

class IdentityClient {
 public:
  struct Options {
    HostPort address;
    std::string server_name{kIdentityServerName};  // what its certificate must name
    std::string token_file;
    std::string ns;               // the pod's namespace
    std::string service_account;  // the pod's ServiceAccount
    RenewalPolicy policy;
    std::chrono::milliseconds request_timeout{10'000};
    std::size_t max_response_bytes = 64 * 1024;
    // How often the document is checked for a change of `identity`.
    std::chrono::milliseconds document_poll{1'000};
    // When the process started: a certificate obtained logs how long after.
    std::chrono::steady_clock::time_point process_started = std::chrono::steady_clock::now();
  };
  // The namespace is --pod-namespace, else the service-account directory's.
  static Options options_from(const Settings& settings);

  IdentityClient(Options options, ConfigStore& config, CredentialStore& store,
                 IdentityMetrics& metrics, Logger& log);
  ~IdentityClient();  // stops at once (even mid-request) and joins
  IdentityClient(const IdentityClient&) = delete;
  IdentityClient& operator=(const IdentityClient&) = delete;

  void start();

  // Empty while ready: identity off, or a certificate held and unexpired.
  // Else why not (for /ready). Thread-safe.
  std::string not_ready_reason() const;

 private:
  awaitable<void> run();
  awaitable<Result<Issued, IssuanceError>> request_once(const proxyconfig::IdentityConfig& wanted);
  // Reads the document's identity section; logs when identity turns on or off.
  std::optional<proxyconfig::IdentityConfig> wanted_identity();
  void set_last_error(std::string error);

  const Options options_;
  ConfigStore& config_;
  CredentialStore& store_;
  IdentityMetrics& metrics_;
  Logger& log_;
  std::atomic<bool> on_{false};
  std::optional<bool> logged_on_;  // the client's thread only
  mutable std::mutex mutex_;
  std::string last_error_;
  std::mt19937_64 rng_{std::random_device{}()};
  asio::io_context io_{1};
  std::thread thread_;
};

}  // namespace weft::proxy
