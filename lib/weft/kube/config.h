#pragma once

// How to reach and authenticate to the apiserver: from a kubeconfig file
// (current context: server, CA, client certificate/key, bearer token) or from
// inside a pod (service-account token, CA, KUBERNETES_SERVICE_HOST/PORT).
//
// Loading order for programs (load_default_config), as kubectl/client-go:
//   1. an explicit --kubeconfig path,
//   2. in-cluster configuration when KUBERNETES_SERVICE_HOST is set,
//   3. $KUBECONFIG (a ':'-separated list, merged as kubectl does),
//   4. ~/.kube/config.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "weft/kube/error.h"

namespace weft::kube {

// Kubelet mounts the service-account token, CA and namespace here.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
// Overrides kServiceAccountDir (tests point it at a fake token/CA directory).
inline constexpr std::string_view kServiceAccountDirEnv = "WEFT_SERVICEACCOUNT_DIR";

// Client-side rate limit defaults. client-go's 5 QPS / 10 burst predate API
// Priority and Fairness and throttle an operator that writes one ConfigMap per
// namespace at start-up; controller-runtime raised them to 20/30, which we
// follow: the server (APF) remains the real protection.
inline constexpr double kDefaultQps = 20;
inline constexpr int kDefaultBurst = 30;

struct ClientConfig {
  // "https://127.0.0.1:6443" (no trailing slash; a path prefix is kept).
  std::string server{};
  // PEM CA bundle to verify the server; empty means the system trust store.
  std::string ca_pem{};
  // When set, the CA bundle is read from this file instead, and read again when
  // it changes or a server certificate fails verification: the in-cluster
  // ca.crt is updated in place when the cluster's CA rotates.
  std::string ca_file{};
  bool insecure_skip_tls_verify = false;
  // Name to verify in the server certificate (and send as SNI) instead of the
  // host of `server`, which is still where the client connects.
  std::string tls_server_name{};

  // Client certificate authentication (PEM), both or neither.
  std::string client_cert_pem{};
  std::string client_key_pem{};
  // Bearer token authentication. When token_file is set it wins and is re-read
  // whenever it changes (kubelet rotates projected tokens), see TokenFile.
  std::string bearer_token{};
  std::string token_file{};

  // The context's namespace, or the pod's namespace in-cluster ("" if unknown).
  std::string default_namespace{};

  // Client-side rate limit (token bucket) over every request, watches included.
  double qps = kDefaultQps;
  int burst = kDefaultBurst;

  std::chrono::milliseconds connect_timeout{10'000};
  // Whole-request timeout for everything but watch streams.
  std::chrono::milliseconds request_timeout{30'000};
  std::string user_agent = "weft";

  // Where the configuration came from, for logs: "kubeconfig /path (context x)", "in-cluster".
  std::string source{};
};

// Parses kubeconfig YAML text. Relative file paths in it (certificate-authority,
// client-certificate, client-key, tokenFile) are taken relative to base_dir, and
// the files are read now. `context` overrides current-context when not empty.
// Unsupported authentication (exec plugins, auth-provider) is a clear kConfig error.
Result<ClientConfig> parse_kubeconfig(std::string_view yaml_text,
                                      const std::filesystem::path& base_dir,
                                      std::string_view context = {});

// Reads and parses one kubeconfig file.
Result<ClientConfig> load_kubeconfig(const std::filesystem::path& path,
                                     std::string_view context = {});

// Several kubeconfig files merged as kubectl does ($KUBECONFIG=a:b): for each
// cluster, user and context name the first file that defines it wins, and the
// first current-context set wins. Missing files are skipped; none existing is an error.
Result<ClientConfig> load_kubeconfig_list(std::string_view colon_separated_paths,
                                          std::string_view context = {});

// "host:port" for a URL: an IPv6 address is bracketed ("[fd00::1]:443"), once.
std::string url_authority(std::string_view host, std::string_view port);

// In-cluster configuration: the token file, ca.crt and namespace under dir,
// server https://host:port (IPv6 hosts bracketed).
Result<ClientConfig> load_in_cluster_config(const std::filesystem::path& dir, std::string_view host,
                                            std::string_view port);
// The same from the environment: KUBERNETES_SERVICE_HOST/PORT and
// $WEFT_SERVICEACCOUNT_DIR or kServiceAccountDir.
Result<ClientConfig> load_in_cluster_config();

// The loading order above; explicit_kubeconfig is the --kubeconfig flag ("" if
// absent). A non-empty `context` (kubectl's --context) replaces the files'
// current-context and skips in-cluster configuration, which has no contexts.
Result<ClientConfig> load_default_config(std::string_view explicit_kubeconfig = {},
                                         std::string_view context = {});

}  // namespace weft::kube
