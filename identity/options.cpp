#include "identity/options.h"

#include "weft/identity/spiffe_id.h"

namespace weft::identity {
namespace {

// ":8443" (every interface), "127.0.0.1:8443", "[::1]:8443"; port 0: any free one.
constexpr flags::HostPortRules kBindAddress{
    .ip_literal = false, .empty_host_is_any = true, .min_port = 0};

const flags::Program<Options>& program() {
  using O = Options;
  static const flags::Program<O> table{
      .usage = "Usage: weft-identity [flags]",
      .about =
          "Issues each meshed proxy a certificate for its ServiceAccount (SPIFFE ID),\n"
          "after the API server has vouched for its token (TokenReview). Keeps the\n"
          "trust anchor, the issuer and the anchors bundle in its namespace (see\n"
          "docs/identity.md).",
      .flags =
          {
              flags::text("kubeconfig", &O::kubeconfig, "kubeconfig file")
                  .value_name("PATH")
                  .shown_default("in-cluster configuration, then $KUBECONFIG"),
              flags::text("namespace", &O::ns, "where the Secrets and the bundle are",
                          flags::TextRule::kNonEmpty)
                  .value_name("NAME"),
              flags::text("trust-domain", &O::trust_domain, "the SPIFFE trust domain",
                          flags::TextRule::kNonEmpty)
                  .value_name("DOMAIN"),
              flags::text("service-account", &O::service_account,
                          "its own ServiceAccount (SPIFFE ID of its serving\ncertificate)",
                          flags::TextRule::kNonEmpty)
                  .value_name("NAME"),
              flags::duration("leaf-lifetime", &O::leaf_lifetime, "lifetime of a proxy's leaf",
                              std::chrono::seconds(1)),
              flags::duration("issuer-lifetime", &O::issuer_lifetime,
                              "lifetime of an issuer weft-identity makes", std::chrono::seconds(1)),
              flags::duration("anchor-lifetime", &O::anchor_lifetime,
                              "lifetime of a trust anchor weft-identity makes",
                              std::chrono::seconds(1)),
              flags::number("issuer-renew-before", &O::issuer_renew_before, 0.01, 0.99,
                            "renew Weft's issuer when less than this fraction of\nits life is "
                            "left"),
              flags::host_port("listen", &O::listen, "where POST /v1/certificates is served (TLS)",
                               kBindAddress)
                  .value_name("ADDR"),
              flags::host_port("metrics", &O::metrics,
                               "where /metrics, /healthz and /ready are served (HTTP)",
                               kBindAddress)
                  .value_name("ADDR"),
              flags::list("dns-names", &O::dns_names, "names in its serving certificate")
                  .comma_separated()
                  .value_name("LIST"),
              flags::text("serving-dir", &O::serving_dir,
                          "directory its serving certificate and key are\nwritten to",
                          flags::TextRule::kNonEmpty)
                  .value_name("DIR"),
              flags::duration("resync-interval", &O::resync_interval,
                              "how often the Secrets and the bundle are read again",
                              std::chrono::milliseconds(100)),
              flags::integer("threads", &O::threads, 1, 64, "server threads"),
              flags::integer("max-concurrent-reviews", &O::max_concurrent_reviews, 1, 1024,
                             "TokenReviews in flight at once (the review workers)"),
              flags::integer("max-queued-reviews", &O::max_queued_reviews, 0, 100000,
                             "TokenReviews waiting for a worker (429 beyond)"),
              flags::duration("token-review-timeout", &O::token_review_timeout,
                              "longest wait for a TokenReview, queue included\n(503 beyond)",
                              std::chrono::milliseconds(10)),
              flags::integer("max-request-bytes", &O::max_request_bytes, 1024, 1 << 20,
                             "largest request body (413 beyond)"),
              flags::integer("max-csr-bytes", &O::max_csr_bytes, 256, 8 * 1024,
                             "largest CSR (400 beyond)"),
              flags::integer("max-connections", &O::max_connections, 1, 1000000,
                             "open connections at most"),
              flags::integer("max-connections-per-source", &O::max_connections_per_source, 1,
                             1000000, "open connections from one address at most"),
              flags::number("kube-api-qps", &O::kube_api_qps, 1, 10000,
                            "client-side rate limit, requests per second"),
              flags::integer("kube-api-burst", &O::kube_api_burst, 1, 10000, "client-side burst"),
              flags::number("review-qps", &O::review_qps, 1, 100000,
                            "client-side rate limit of TokenReviews, per second"),
              flags::integer("review-burst", &O::review_burst, 1, 100000,
                             "client-side burst of TokenReviews"),
              flags::number("review-per-source-qps", &O::review_per_source_qps, 0, 100000,
                            "TokenReviews one client address may cause, per second\n"
                            "(429 beyond; 0: no limit)"),
              flags::integer("review-per-source-burst", &O::review_per_source_burst, 1, 100000,
                             "TokenReviews one client address may cause at once"),
              flags::log_level("log-level", &O::log_level, "debug, info, warn or error"),
          },
      .footer =
          "ADDR is HOST:PORT, :PORT (every interface) or [IPv6]:PORT; port 0 picks a free "
          "port.\nEndpoints: POST /v1/certificates (--listen); GET /metrics, /healthz, /ready "
          "(--metrics).\n",
  };
  return table;
}

}  // namespace

std::string usage() {
  return flags::usage(program());
}

Result<Options> parse_options(const std::vector<std::string>& args) {
  auto parsed = flags::parse(program(), args, flags::process_environment());
  if (!parsed) return parsed.error();
  Options options = std::move(parsed->options);
  options.help = parsed->help;
  if (options.help) return options;
  if (auto domain = check_trust_domain(options.trust_domain); !domain) {
    return Error{"--trust-domain: " + domain.error().message};
  }
  if (auto self = make_identity(options.trust_domain, options.ns, options.service_account); !self) {
    return Error{"--namespace/--service-account: " + self.error().message};
  }
  if (options.dns_names.empty()) return Error{"--dns-names: at least one name is needed"};
  if (options.max_csr_bytes > options.max_request_bytes) {
    return Error{"--max-csr-bytes must not exceed --max-request-bytes"};
  }
  return options;
}

}  // namespace weft::identity
