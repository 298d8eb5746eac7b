#pragma once

// weft-proxy's start-up settings: from command-line flags, else environment
// variables (WEFT_PROXY_<FLAG>, upper case, '-' as '_'), else the defaults
// below, which match what the webhook injects. Parsed and validated before any
// port is bound by the table in settings.cpp (lib/weft/flags.h has the rules);
// a bad value is a usage error naming the flag.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/constants.h"
#include "weft/flags.h"
#include "weft/log.h"
#include "weft/port_list.h"
#include "weft/probe_routes.h"
#include "weft/result.h"

namespace weft::proxy {

using HostPort = flags::HostPort;  // host: an IPv4 or IPv6 literal

struct Settings {
  // The mounted ConfigMap document.
  std::string config_path = std::string(kProxyConfigMountPath) + "/" + std::string(kProxyConfigKey);
  std::string listen_address = "0.0.0.0";
  std::uint16_t outbound_port = kProxyOutboundPort;  // 0: the kernel picks (tests)
  std::uint16_t inbound_port = kProxyInboundPort;
  std::uint16_t admin_port = kProxyAdminPort;
  std::size_t workers = 1;
  // Ports whose traffic skips protocol detection and is proxied as opaque TCP.
  PortSet opaque_ports;
  std::chrono::milliseconds detect_timeout{1000};
  std::chrono::milliseconds connect_timeout{1000};
  // A client connection idle between requests this long is closed.
  std::chrono::milliseconds idle_timeout{60'000};
  // Time for a request head to arrive once its first byte has.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds shutdown_grace{25'000};
  // Connections open at once per traffic listener; beyond, new ones are
  // accepted and reset at once (HAProxy's maxconn, which queues, would leave
  // them waiting unseen in the kernel's backlog).
  // 1,000 each: both listeners full of the costliest connections measured
  // (about 90 KiB each) fit the injected container's 256 MiB limit
  // (docs/proxy.md, "Memory per connection").
  std::size_t max_outbound_connections = 1'000;
  std::size_t max_inbound_connections = 1'000;
  // A request body whose client sends nothing for this long: 408, closed.
  std::chrono::milliseconds body_idle_timeout{60'000};
  // The wait for a response head, from the end of the request, when the
  // route sets no timeout (inbound and unrouted traffic): then 504.
  std::chrono::milliseconds response_timeout{60'000};
  // A TCP tunnel (opaque TCP, WebSocket and other upgrades) with no byte in
  // either direction for this long is closed; per destination port below.
  std::chrono::milliseconds tunnel_idle_timeout{3'600'000};
  // A connection on which no byte moved either way since it was accepted (a
  // client that stays silent to an app that does not speak first) is closed
  // this long after its accept, long before the tunnel idle timeout.
  std::chrono::milliseconds silent_connection_timeout{30'000};
  // A tunnel one of whose directions has ended (a half-close) is closed once
  // the other moved nothing for this long: no peer waits the idle hour.
  std::chrono::milliseconds tunnel_half_closed_timeout{30'000};
  // An inbound mTLS handshake (a meshed client's) not done within this is
  // cut, counted as tls_handshake_failures_total{reason="timeout"}.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // On OpenSSL 3.0 and 3.1, EC keys through OpenSSL's built-in EC code
  // rather than its provider decoder (proxy/tls/legacy_ec_keys.h).
  bool openssl_legacy_ec_keys = true;
  // A peer's Certificate message larger than this fails the handshake
  // (reason "chain_too_large"): OpenSSL parses every key in it first.
  std::size_t tls_max_peer_chain_bytes = 8 * 1024;  // kDefaultMaxPeerChainBytes
  // The kubelet's HTTP probes of the app containers (the webhook writes
  // them): under a Strict MeshPolicy, plaintext HTTP/1 to one of these ports
  // is served, but only GET or HEAD of exactly these targets gets through.
  // Canonical (lib/weft/probe_routes.h), each path normalised as requests'
  // are (proxy/request/path.h), so that a probe matches what is forwarded.
  std::vector<ProbeRoute> inbound_probes;
  // TESTS ONLY: chain.pem, key.pem and anchors.pem read from this folder at
  // start as the proxy's credentials (refused unless the environment has
  // WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1); in a pod, the identity client
  // obtains them and no key touches a disk.
  std::string test_credentials_dir;
  struct PortDuration {
    std::uint16_t port = 0;
    std::chrono::milliseconds duration{0};
  };
  std::vector<PortDuration> tunnel_idle_timeout_by_port;
  // The tunnel idle timeout for a destination port.
  std::chrono::milliseconds tunnel_idle_timeout_for(std::uint16_t port) const {
    for (const PortDuration& item : tunnel_idle_timeout_by_port) {
      if (item.port == port) return item.duration;
    }
    return tunnel_idle_timeout;
  }
  // Idle upstream connections: closed after this long unused (below common
  // server keep-alive timeouts would be ideal, but those vary: each reuse is
  // probed anyway), and at most this many kept per endpoint and worker.
  std::chrono::milliseconds pool_idle_timeout{90'000};
  std::size_t pool_max_idle_per_endpoint = 64;
  // Interim (1xx) responses relayed for one request; an upstream sending
  // more gets the request a 502 instead of holding it with endless 1xx.
  std::size_t max_interim_responses = 10;
  // The body of a request the proxy answers itself (a denial, a rate limit)
  // is read and dropped up to this many bytes, so that the connection serves
  // the next request; a longer one closes the connection instead.
  std::size_t max_discarded_body_bytes = 64 * 1024;
  // Outbound HTTP/1.1 requests to a meshed endpoint go to its proxy as
  // HTTP/2 streams on the one mTLS connection per peer (proxy/bridge/).
  bool http1_upgrade_between_proxies = true;
  // HTTP/2 (proxy/http2/limits.h; docs/proxy.md, "HTTP/2"), per connection
  // unless said otherwise. Streams a peer may open at once
  // (SETTINGS_MAX_CONCURRENT_STREAMS); the request header list's size
  // (SETTINGS_MAX_HEADER_LIST_SIZE, HTTP/1's head limit: a larger one is a
  // 431); the largest frame payload the proxy receives (SETTINGS_MAX_FRAME_SIZE).
  std::size_t http2_max_concurrent_streams = 250;
  std::size_t http2_max_header_list_size = 32 * 1024;
  std::size_t http2_max_frame_size = 16 * 1024;
  // Receive windows: a stream's (the bytes of its body the proxy holds
  // before the other side takes them), and the connection's, over all its
  // streams.
  std::size_t http2_stream_window = 64 * 1024;
  std::size_t http2_connection_window = 1024 * 1024;
  // RST_STREAMs a peer may send: a burst, then so many a second (rapid
  // reset, CVE-2023-44487); past it, the connection ends with GOAWAY.
  std::size_t http2_reset_burst = 1'000;
  std::size_t http2_reset_rate = 33;
  // CONTINUATION frames after one HEADERS (CVE-2024-27316 family).
  std::size_t http2_max_continuations = 8;
  // SETTINGS and PING acknowledgements queued unsent (floods of either).
  std::size_t http2_max_outbound_acks = 1'000;
  // Entries in one SETTINGS frame.
  std::size_t http2_max_settings = 32;
  // The HPACK encoder's dynamic table, whatever size the peer allows.
  std::size_t http2_max_deflate_table_size = 4 * 1024;
  // The freed blocks an HTTP/2 session keeps to allocate nghttp2's next
  // streams, frames and header copies from (0: none kept, all malloc).
  std::size_t http2_session_cache_bytes = 64 * 1024;
  // A peer (client or upstream) that reads none of the bytes waiting for it
  // this long is cut: its connection's writer would block, with every
  // stream on it.
  std::chrono::milliseconds http2_write_timeout{30'000};
  // Between two meshed proxies (mTLS), an HTTP/2 connection's frames go out
  // once this many exchanges became ready in one turn of the event loop, not
  // only at its end: the peer proxy starts on the first ones while this one
  // prepares the rest (0: one write per turn).
  std::size_t http2_mesh_write_batch = 4;
  // A stream on which no byte moved either way this long is reset, gRPC
  // included (as Envoy's stream_idle_timeout): a stream that moves bytes,
  // however long it lives, is never cut.
  std::chrono::milliseconds http2_stream_idle_timeout{300'000};
  // The decoded header lists of a client connection's open streams, summed:
  // past it, new streams are refused (a small HPACK block can decode into
  // a header list at the size limit, for each of the concurrent streams).
  std::size_t http2_max_open_header_bytes = 1024 * 1024;
  // HTTP/2 upstream connections per endpoint (and identity) and worker;
  // beyond, a request waits for a stream to end within its connect limit.
  std::size_t http2_max_connections_per_endpoint = 64;
  // Where a connection that iptables did not redirect goes (plain loopback
  // tests, debugging). Unset: such connections are closed.
  std::optional<HostPort> outbound_fallback;
  std::optional<HostPort> inbound_fallback;
  // The pod's addresses: inbound connections to any other are refused (a
  // crafted packet must not make the proxy a relay). Empty: the addresses of
  // the interfaces at start-up (in a pod, its IPs of both families and
  // loopback).
  std::vector<std::string> own_addresses;
  // Watch the ConfigMap through the API server (in-cluster credentials) in
  // addition to the mounted file. "auto": when KUBERNETES_SERVICE_HOST is set.
  std::string kube_watch = "auto";  // auto | on | off
  // How long one watch request lasts before the server ends it (and the
  // proxy resumes it): the apiserver's own default range is 5 to 10 minutes.
  std::chrono::seconds kube_watch_timeout{290};
  // The pod's service-account token, ca.crt and namespace, for that watch
  // (kube::kServiceAccountDir; settings_test checks they agree).
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::string pod_namespace;  // the ConfigMap's namespace; default: the token's
  LogLevel log_level = LogLevel::kInfo;
  // Bounds on metric series for addresses the document does not name
  // (proxy/metrics.h: MetricsLimits).
  std::size_t metrics_max_dynamic_targets = 100;
  std::chrono::milliseconds metrics_target_expiry{600'000};
  // Distinct peer identities (client_id, server_id) with series per target.
  std::size_t metrics_max_identities_per_target = 100;
  // Whole-request limit on the admin port: slow clients cannot hold it.
  std::chrono::milliseconds admin_request_timeout{10'000};
  // Connections open at once on the admin port (probes, scrapes and the API
  // server's pod proxy need a handful): any pod can reach it, so without a
  // cap it could take the process's descriptors from the traffic listeners.
  std::size_t max_admin_connections = 256;
  // Workload identity (docs/identity.md), used when the document carries
  // `identity`: where weft-identity answers (a DNS name or an address; its
  // certificate must name kIdentityServerName either way), the projected
  // token proving the ServiceAccount (read again for each request: the
  // kubelet rotates it), and the ServiceAccount itself (the downward API).
  HostPort identity_address{std::string(kIdentityServerName), kIdentityPort};
  std::string identity_token_file =
      std::string(kIdentityMountPath) + "/" + std::string(kIdentityTokenFile);
  std::string service_account;
  // Renew when this share of the leaf's life has passed.
  double identity_renew_fraction = 0.7;
  // Limits on one issuance request: its whole time, and its answer's size.
  std::chrono::milliseconds identity_request_timeout{10'000};
  std::size_t identity_max_response_bytes = 64 * 1024;
  // The pod's labels, a file the downward API keeps current (the webhook
  // mounts it): which MeshPolicies' podSelectors select this pod. Empty: no
  // labels known, only policies with an empty selector select it.
  std::string pod_labels_file;
  // Authorization metric series (policy, rule) of their own; past it, counted
  // under policy="other" (the names come from the document, which is bounded,
  // but a document may name many policies).
  std::size_t max_authz_metric_series = 4096;
  // A denied client (authorization or rate limit) is logged at most once per
  // interval, with the count of its denials not logged meanwhile; at most
  // this many clients are remembered for that.
  std::chrono::milliseconds denial_log_interval{10'000};
  std::size_t max_denial_log_clients = 4096;
  // Token buckets of rate-limited clients kept at once; a new client past it
  // is refused (429), and counted, until idle buckets are forgotten.
  std::size_t max_rate_limited_clients = 10'000;
};

// Looks up an environment variable; std::getenv in production, a map in tests.
using EnvLookup = flags::Env;
using flags::process_environment;

// Parses argv (without argv[0]). "--help" yields an Error whose message is the usage text
// and sets *help_requested.
Result<Settings> parse_settings(const std::vector<std::string>& args, const EnvLookup& env,
                                bool* help_requested = nullptr);

std::string usage();

}  // namespace weft::proxy
