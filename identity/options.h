#pragma once

// weft-identity's command line (lib/weft/flags.h has the rules), parsed and
// checked before anything starts.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/flags.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::identity {

struct Options {
  bool help = false;
  std::string kubeconfig;  // "": in-cluster, then $KUBECONFIG
  std::string ns = "weft-system";
  std::string trust_domain = "cluster.local";
  // Its own ServiceAccount: the SPIFFE ID of its serving certificate.
  std::string service_account = "weft-identity";
  std::chrono::seconds leaf_lifetime{std::chrono::hours(24)};
  // 30 days: a stolen issuer key is useful for a month at most, and renewal
  // with a third left gives ten days to notice a failing renewal; a change of
  // issuer costs nothing (the anchor stays), so renewing every 20 days is free.
  std::chrono::seconds issuer_lifetime{std::chrono::hours(24 * 30)};
  std::chrono::seconds anchor_lifetime{std::chrono::hours(24 * 365 * 10)};
  double issuer_renew_before = 0.33;  // fraction of the issuer's life left
  flags::HostPort listen{"0.0.0.0", 8443};
  flags::HostPort metrics{"0.0.0.0", 9090};  // /metrics, /healthz, /ready
  std::vector<std::string> dns_names = {"weft-identity.weft-system.svc",
                                        "weft-identity.weft-system.svc.cluster.local"};
  // Where the serving certificate is written for the server to load (an
  // in-memory emptyDir in the pod).
  std::string serving_dir = "/var/run/weft-identity";
  // How often the Secrets and the bundle are read again.
  std::chrono::milliseconds resync_interval{std::chrono::seconds(30)};
  int threads = 2;
  // TokenReviews are made by a pool of workers, never on the server's
  // threads (identity/review_pool.h): this many in flight at once, this many
  // more waiting for a worker (429 beyond), each given this long (503 beyond).
  int max_concurrent_reviews = 4;
  int max_queued_reviews = 64;
  std::chrono::milliseconds token_review_timeout{std::chrono::seconds(5)};
  long long max_request_bytes = 16 * 1024;  // 413 beyond
  long long max_csr_bytes = 8 * 1024;       // 400 beyond
  int max_connections = 1024;
  int max_connections_per_source = 16;
  double kube_api_qps = 50;
  int kube_api_burst = 100;
  // TokenReviews go through a client of their own, so the resync loop never
  // waits behind a burst of pod starts, nor they behind it. Higher than the
  // rest: each certificate needs one, --max-concurrent-reviews bounds them
  // already, and the API server's priority and fairness protects it.
  double review_qps = 500;
  int review_burst = 500;
  // TokenReviews one client address may cause: a pod flooding weft-identity
  // spends its own budget, not everyone's (identity/source_limiter.h).
  double review_per_source_qps = 2;
  int review_per_source_burst = 20;
  LogLevel log_level = LogLevel::kInfo;
};

Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage();

}  // namespace weft::identity
