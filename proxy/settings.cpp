#include "proxy/settings.h"

#include "proxy/request/path.h"

namespace weft::proxy {
namespace {

// The webhook's list, each path in the form requests are matched in.
Result<std::vector<ProbeRoute>> parse_inbound_probes(std::string_view text) {
  auto routes = parse_probe_routes(text);
  if (!routes) return routes.error();
  for (ProbeRoute& route : *routes) {
    const auto query = route.target.find('?');
    const std::string_view path = std::string_view(route.target).substr(0, query);
    std::string normal;
    const PathNormalization result = normalize_path(path, normal);
    if (result.verdict == PathNormalization::Verdict::kRefused) {
      return Error{"'" + route.target + "': " + std::string(result.reason)};
    }
    if (result.verdict == PathNormalization::Verdict::kNormalized) {
      if (query != std::string::npos) normal += route.target.substr(query);
      route = ProbeRoute(route.port, std::move(normal));
    }
  }
  return canonical_probe_routes(std::move(*routes));
}

Result<std::uint16_t> port_item(std::string_view text) {
  auto port = flags::parse_integer(text, 1, 65535);
  if (!port) return port.error();
  return static_cast<std::uint16_t>(*port);
}

// "PORT=DURATION" (a later item for the same port wins).
Result<Settings::PortDuration> port_duration_item(std::string_view text) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) {
    return Error{"'" + std::string(text) + "' is not PORT=DURATION"};
  }
  auto port = port_item(text.substr(0, equals));
  if (!port) return port.error();
  auto duration =
      flags::parse_duration_value(text.substr(equals + 1), std::chrono::milliseconds(1));
  if (!duration) return duration.error();
  return Settings::PortDuration{*port, *duration};
}

const flags::Program<Settings>& program() {
  using S = Settings;
  constexpr auto kMoreThanZero = std::chrono::milliseconds(1);
  static const flags::Program<S> table{
      .usage =
          "Usage: weft-proxy [--config FILE] [flags]\n"
          "       weft-proxy wait-ready [--admin-port PORT] [--timeout DURATION]",
      .about = "Each flag can also be set by the environment variable shown; a flag wins.",
      .flags =
          {
              flags::text("config", &S::config_path,
                          "proxy configuration document (the mounted ConfigMap)",
                          flags::TextRule::kNonEmpty)
                  .value_name("FILE"),
              flags::ip_address("listen-address", &S::listen_address,
                                "address the three listeners bind"),
              flags::integer("outbound-port", &S::outbound_port, 0, 65535,
                             "port iptables redirects the pod's outbound TCP to")
                  .value_name("PORT"),
              flags::integer("inbound-port", &S::inbound_port, 0, 65535,
                             "port iptables redirects the pod's inbound TCP to")
                  .value_name("PORT"),
              flags::integer("admin-port", &S::admin_port, 0, 65535,
                             "port of /live, /ready, /metrics, /version and /config")
                  .value_name("PORT"),
              flags::integer("workers", &S::workers, 1, 64,
                             "worker threads, each with its own event loop"),
              // The webhook's own parser: what it writes, the proxy reads.
              flags::custom("opaque-ports", &S::opaque_ports, parse_port_set,
                            "ports proxied as TCP without protocol detection,\n"
                            "e.g. 3306,8000-8100")
                  .value_name("PORTS"),
              flags::duration("detect-timeout", &S::detect_timeout,
                              "wait this long for a client's first bytes before treating it\n"
                              "as TCP",
                              kMoreThanZero),
              flags::duration("connect-timeout", &S::connect_timeout,
                              "limit on connecting to an endpoint", kMoreThanZero),
              flags::duration("idle-timeout", &S::idle_timeout,
                              "close client connections idle this long between requests",
                              kMoreThanZero),
              flags::duration("header-timeout", &S::header_timeout,
                              "limit on receiving a request head", kMoreThanZero),
              flags::integer("max-interim-responses", &S::max_interim_responses, 0, 1000,
                             "interim (1xx) responses relayed per request; one more is a 502"),
              flags::integer("max-discarded-body-bytes", &S::max_discarded_body_bytes, 0,
                             64 * 1024 * 1024,
                             "HTTP/1: the body of a request answered by the proxy itself (403,\n"
                             "429) read and dropped to keep the connection; longer closes it")
                  .value_name("BYTES"),
              flags::boolean("http1-upgrade-between-proxies", &S::http1_upgrade_between_proxies,
                             "send outbound HTTP/1.1 requests to meshed endpoints as HTTP/2\n"
                             "streams on one mTLS connection per peer proxy (=false: HTTP/1)"),
              flags::duration("shutdown-grace", &S::shutdown_grace,
                              "on SIGTERM, time for requests in flight to finish"),
              flags::integer("max-outbound-connections", &S::max_outbound_connections, 1, 1'000'000,
                             "connections open at once on the outbound listener; beyond,\n"
                             "new ones are reset")
                  .value_name("N"),
              flags::integer("max-inbound-connections", &S::max_inbound_connections, 1, 1'000'000,
                             "connections open at once on the inbound listener; beyond,\n"
                             "new ones are reset")
                  .value_name("N"),
              flags::duration("body-idle-timeout", &S::body_idle_timeout,
                              "limit on a request body's client sending nothing (then 408)",
                              kMoreThanZero),
              flags::duration("response-timeout", &S::response_timeout,
                              "limit on waiting for a response head once the request is\n"
                              "sent, when the route sets no timeout (then 504)",
                              kMoreThanZero),
              flags::duration("tunnel-idle-timeout", &S::tunnel_idle_timeout,
                              "close a TCP or WebSocket tunnel idle this long both ways",
                              kMoreThanZero),
              flags::list("tunnel-idle-timeout-by-port", &S::tunnel_idle_timeout_by_port,
                          port_duration_item,
                          "comma-separated PORT=DURATION: the tunnel idle timeout for\n"
                          "those destination ports")
                  .comma_separated()
                  .value_name("PORT=DURATION,..."),
              flags::duration("silent-connection-timeout", &S::silent_connection_timeout,
                              "close a connection on which either side has sent no\n"
                              "byte yet, this long after its accept",
                              kMoreThanZero),
              flags::duration("tunnel-half-closed-timeout", &S::tunnel_half_closed_timeout,
                              "close a tunnel one of whose directions ended once the\n"
                              "other moved nothing this long",
                              kMoreThanZero),
              flags::duration("tls-handshake-timeout", &S::tls_handshake_timeout,
                              "cut an inbound mTLS handshake not done within this", kMoreThanZero),
              flags::integer("tls-max-certificate-chain-bytes", &S::tls_max_peer_chain_bytes, 1024,
                             1024 * 1024,
                             "refuse an mTLS peer whose certificate chain is larger (OpenSSL\n"
                             "parses every key in it before verifying anything)")
                  .value_name("BYTES"),
              flags::boolean("openssl-legacy-ec-keys", &S::openssl_legacy_ec_keys,
                             "on OpenSSL 3.0 and 3.1, read and use EC keys with OpenSSL's\n"
                             "built-in EC code, not its slower provider decoder (=false: the\n"
                             "provider's)"),
              flags::custom("inbound-probes", &S::inbound_probes, parse_inbound_probes,
                            "the kubelet's HTTP probes, PORT/PATH[?QUERY] separated by\n"
                            "spaces: under a Strict MeshPolicy, plaintext GET or HEAD of\n"
                            "exactly these still reaches the app (the webhook sets it)")
                  .value_name("PROBES"),
              flags::text("test-credentials-dir", &S::test_credentials_dir,
                          "TESTS ONLY (needs WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1): read\n"
                          "chain.pem, key.pem, anchors.pem from DIR as the proxy's\n"
                          "certificate, key and trust anchors")
                  .value_name("DIR"),
              flags::duration("pool-idle-timeout", &S::pool_idle_timeout,
                              "close idle upstream connections unused this long", kMoreThanZero),
              flags::integer("http2-max-concurrent-streams", &S::http2_max_concurrent_streams, 1,
                             1'000'000, "HTTP/2 streams a peer may open at once per connection")
                  .value_name("N"),
              flags::integer("http2-max-header-list-size", &S::http2_max_header_list_size, 1024,
                             1024 * 1024,
                             "HTTP/2 request header list size in bytes; larger is a 431")
                  .value_name("BYTES"),
              flags::integer("http2-max-frame-size", &S::http2_max_frame_size, 16 * 1024,
                             16 * 1024 * 1024 - 1, "largest HTTP/2 frame payload received")
                  .value_name("BYTES"),
              flags::integer("http2-stream-window", &S::http2_stream_window, 1024, 2147483647,
                             "HTTP/2 receive window per stream: body bytes held per stream\n"
                             "until the other side takes them")
                  .value_name("BYTES"),
              flags::integer("http2-connection-window", &S::http2_connection_window, 65535,
                             2147483647, "HTTP/2 receive window per connection")
                  .value_name("BYTES"),
              flags::integer("http2-reset-burst", &S::http2_reset_burst, 1, 1'000'000,
                             "RST_STREAM frames a peer may send in a burst (rapid reset)")
                  .value_name("N"),
              flags::integer("http2-reset-rate", &S::http2_reset_rate, 1, 1'000'000,
                             "RST_STREAM frames a peer may send per second after the burst")
                  .value_name("N"),
              flags::integer("http2-max-continuations", &S::http2_max_continuations, 0, 1000,
                             "CONTINUATION frames allowed after one HEADERS frame")
                  .value_name("N"),
              flags::integer("http2-max-outbound-acks", &S::http2_max_outbound_acks, 1, 1'000'000,
                             "SETTINGS and PING acknowledgements queued unsent")
                  .value_name("N"),
              flags::integer("http2-max-settings", &S::http2_max_settings, 1, 1000,
                             "entries accepted in one SETTINGS frame")
                  .value_name("N"),
              flags::integer("http2-max-deflate-table-size", &S::http2_max_deflate_table_size, 0,
                             1024 * 1024, "HPACK encoder dynamic table size in bytes")
                  .value_name("BYTES"),
              flags::duration("http2-write-timeout", &S::http2_write_timeout,
                              "cut an HTTP/2 peer that reads none of the bytes waiting\n"
                              "for it this long",
                              kMoreThanZero),
              flags::integer("http2-mesh-write-batch", &S::http2_mesh_write_batch, 0, 1000,
                             "between meshed proxies, send an HTTP/2 connection's frames\n"
                             "once this many exchanges are ready in one turn rather than\n"
                             "at its end (0: one write per turn)")
                  .value_name("N"),
              flags::duration("http2-stream-idle-timeout", &S::http2_stream_idle_timeout,
                              "reset an HTTP/2 stream (gRPC included) on which no byte\n"
                              "moved either way this long",
                              kMoreThanZero),
              flags::integer("http2-max-open-header-bytes", &S::http2_max_open_header_bytes, 1024,
                             1024 * 1024 * 1024,
                             "decoded header bytes of a client connection's open HTTP/2\n"
                             "streams; past it new streams are refused")
                  .value_name("BYTES"),
              flags::integer("http2-max-connections-per-endpoint",
                             &S::http2_max_connections_per_endpoint, 1, 100'000,
                             "HTTP/2 upstream connections per endpoint and worker; beyond,\n"
                             "requests wait for a stream")
                  .value_name("N"),
              flags::integer("http2-session-cache-bytes", &S::http2_session_cache_bytes, 0,
                             64 * 1024 * 1024,
                             "freed nghttp2 blocks an HTTP/2 session keeps for reuse")
                  .value_name("BYTES"),
              flags::integer("pool-max-idle-per-endpoint", &S::pool_max_idle_per_endpoint, 0,
                             100000,
                             "idle upstream connections kept per endpoint and worker\n"
                             "(0: none, every request gets a new connection)")
                  .value_name("N"),
              flags::host_port("outbound-fallback", &S::outbound_fallback,
                               "for outbound connections not redirected by iptables\n"
                               "(none: they are closed)"),
              flags::host_port("inbound-fallback", &S::inbound_fallback,
                               "for inbound connections not redirected by iptables\n"
                               "(none: they are closed)"),
              flags::list(
                  "own-addresses", &S::own_addresses,
                  [](std::string_view text) { return flags::parse_ip_address(text); },
                  "comma-separated addresses of the pod: inbound connections to\n"
                  "any other address are refused")
                  .comma_separated()
                  .value_name("IPS")
                  .shown_default("the interfaces' addresses"),
              flags::choice("kube-watch", &S::kube_watch,
                            {{"auto", "auto"}, {"on", "on"}, {"off", "off"}},
                            "also watch the ConfigMap through the API server (auto: when\n"
                            "KUBERNETES_SERVICE_HOST is set)"),
              flags::duration("kube-watch-timeout", &S::kube_watch_timeout,
                              "length of one watch request, resumed when the server ends it",
                              std::chrono::seconds(1)),
              flags::text("service-account-dir", &S::service_account_dir,
                          "token, ca.crt and namespace for the ConfigMap watch (the API\n"
                          "server is KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT)",
                          flags::TextRule::kNonEmpty)
                  .value_name("DIR"),
              flags::text("pod-namespace", &S::pod_namespace, "namespace of the ConfigMap")
                  .value_name("NAME")
                  .shown_default("the service account's"),
              flags::log_level("log-level", &S::log_level, "debug, info, warn or error"),
              flags::integer("metrics-max-dynamic-targets", &S::metrics_max_dynamic_targets, 0,
                             100'000,
                             "targets the document does not name that get their own metric\n"
                             "series; past it they count under target_service=\"other\""),
              flags::integer("metrics-max-identities-per-target",
                             &S::metrics_max_identities_per_target, 0, 100'000,
                             "peer identities (client_id, server_id) with their own HTTP\n"
                             "metric series per target; past it they count as \"other\""),
              flags::duration("metrics-target-expiry", &S::metrics_target_expiry,
                              "drop such a target's series, or a peer identity's, after it\n"
                              "is unused this long"),
              flags::duration("admin-request-timeout", &S::admin_request_timeout,
                              "limit on an admin request, from its first byte (or the\n"
                              "connection, or the previous answer) to its whole answer",
                              kMoreThanZero),
              flags::integer("max-admin-connections", &S::max_admin_connections, 1, 100'000,
                             "connections open at once on the admin port; beyond, new\n"
                             "ones are reset")
                  .value_name("N"),
              flags::host_port("identity-address", &S::identity_address,
                               "weft-identity's HOST:PORT (a name or an address); its\n"
                               "certificate must name weft-identity.weft-system.svc",
                               {.ip_literal = false}),
              flags::text("identity-token-file", &S::identity_token_file,
                          "projected ServiceAccount token sent to weft-identity",
                          flags::TextRule::kNonEmpty)
                  .value_name("FILE"),
              flags::text("service-account", &S::service_account,
                          "the pod's ServiceAccount, named in its certificate")
                  .value_name("NAME"),
              flags::number("identity-renew-fraction", &S::identity_renew_fraction, 0.1, 0.95,
                            "renew the certificate when this share of its life has passed"),
              flags::duration("identity-request-timeout", &S::identity_request_timeout,
                              "limit on one certificate request, connection included",
                              kMoreThanZero),
              flags::
                  integer("identity-max-response-bytes", &S::identity_max_response_bytes, 1024,
                          16 * 1024 * 1024, "largest answer accepted from weft-identity")
                      .value_name("BYTES"),
              flags::
                  text("pod-labels-file", &S::pod_labels_file,
                       "the pod's labels (downward API, key=\"value\" lines), watched:\n"
                       "which MeshPolicies select the pod (the webhook sets it)")
                      .value_name("FILE")
                      .shown_default("none: only policies selecting every pod apply"),
              flags::
                  integer("max-authz-metric-series", &S::max_authz_metric_series, 1, 1'000'000,
                          "authorization metric series (policy, rule) of their own;\n"
                          "past it they count under policy=\"other\"")
                      .value_name("N"),
              flags::duration("denial-log-interval", &S::denial_log_interval,
                              "log a client's denials (authorization, rate limit) at most\n"
                              "once per this, with the count not logged meanwhile",
                              kMoreThanZero),
              flags::
                  integer("max-denial-log-clients", &S::max_denial_log_clients, 1, 1'000'000,
                          "clients remembered for that; new ones past it share one line\n"
                          "per interval")
                      .value_name("N"),
              flags::
                  integer("max-rate-limited-clients", &S::max_rate_limited_clients, 1, 10'000'000,
                          "rate-limit buckets (policy, client) kept at once; a new\n"
                          "client past it is refused (429)")
                      .value_name("N"),
          },
      .env_prefix = "WEFT_PROXY_",
  };
  return table;
}

}  // namespace

std::string usage() {
  return flags::usage(program());
}

Result<Settings> parse_settings(const std::vector<std::string>& args, const EnvLookup& env,
                                bool* help_requested) {
  auto parsed = flags::parse(program(), args, env);
  if (!parsed.has_value()) return parsed.error();
  if (parsed->help) {
    if (help_requested != nullptr) *help_requested = true;
    return Error{usage()};
  }
  const Settings& settings = parsed->options;
  const auto clash = [](std::uint16_t a, std::uint16_t b) { return a != 0 && a == b; };
  if (clash(settings.outbound_port, settings.inbound_port) ||
      clash(settings.outbound_port, settings.admin_port) ||
      clash(settings.inbound_port, settings.admin_port)) {
    return Error{"--outbound-port, --inbound-port and --admin-port must differ"};
  }
  return std::move(parsed->options);
}

}  // namespace weft::proxy
