#pragma once

// weft-webhook's command line, Kubernetes style (--flag=value or --flag value),
// parsed and checked before anything starts by the table in flags.cpp
// (lib/weft/flags.h has the rules).

#include <cstdint>
#include <string>
#include <vector>

#include "weft/log.h"
#include "weft/result.h"

namespace weft::webhook {

struct Flags {
  bool help = false;
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string address = "0.0.0.0";
  std::uint16_t port = 8443;  // 0: any free port (tests), logged at start
  std::string config_file;    // injection settings; built-in defaults when empty
  LogLevel log_level = LogLevel::kInfo;
  int threads = 2;
  int max_connections = 256;  // an idle TLS connection holds about 75 KiB
  // One address may hold a quarter: a single pod cannot fill the cap alone.
  int max_connections_per_source = 64;
  // Memory a client can make the server hold (see docs/webhook.md, "Under load").
  // A large realistic pod's AdmissionReview measures 170-210 KB.
  long long max_review_bytes = 1024 * 1024;
  long long max_review_bytes_in_flight = 24 * 1024 * 1024;
  long long large_review_bytes = 64 * 1024;
  int max_large_reviews = 8;
  // One client address's share of the two above: half, so a single flooding
  // pod cannot take all, while the API server (one address) keeps room for a
  // burst of large pods.
  long long max_review_bytes_in_flight_per_source = 12 * 1024 * 1024;
  int max_large_reviews_per_source = 4;
  // Reviews are refused (503) while resident memory is above this; 0: never.
  // The default leaves a quarter of the manifest's 128 Mi limit as headroom.
  long long shed_memory_bytes = 96LL * 1024 * 1024;
  // "v1.30.2": skips asking the API server (sidecarMode auto needs one or the other).
  std::string kubernetes_version;
  std::string kubeconfig;  // empty: in-cluster, else $KUBECONFIG
  // Serving certificate provisioning (see docs/webhook.md): keep a CA and serving
  // certificate in a Secret, write them to the --tls-* files, fill the caBundle.
  bool provision_certificates = false;
  std::string certificate_secret = "weft-system/weft-webhook-tls";  // namespace/name
  std::string webhook_configuration = "weft-webhook";
  std::vector<std::string> certificate_dns_names = {"weft-webhook.weft-system.svc"};
};

std::string usage();

// Error: an unknown flag, a missing value, a bad number, a missing required flag.
Result<Flags> parse_flags(const std::vector<std::string>& args);

}  // namespace weft::webhook
