#include "webhook/flags.h"

#include "weft/flags.h"

namespace weft::webhook {
namespace {

Result<std::string> parse_secret_name(std::string_view text) {
  if (text.find('/') == std::string_view::npos) {
    return Error{"must be namespace/name, not '" + std::string(text) + "'"};
  }
  return std::string(text);
}

const flags::Program<Flags>& program() {
  static const flags::Program<Flags> table{
      .usage = "Usage: weft-webhook --tls-cert-file=FILE --tls-private-key-file=FILE [flags]",
      .about =
          "weft-webhook: the Weft mutating admission webhook (injects weft-init and "
          "weft-proxy).",
      .flags =
          {
              flags::text("tls-cert-file", &Flags::tls_cert_file,
                          "PEM serving certificate (chain); reloaded when it changes")
                  .value_name("FILE"),
              flags::text("tls-private-key-file", &Flags::tls_private_key_file,
                          "PEM private key; reloaded when it changes")
                  .value_name("FILE"),
              flags::integer("port", &Flags::port, 0, 65535, "HTTPS port; 0 picks a free one"),
              flags::text("address", &Flags::address, "listen address").value_name("IP"),
              flags::text("config", &Flags::config_file,
                          "injection settings (JSON; see docs/webhook.md)")
                  .value_name("FILE")
                  .shown_default("built-in"),
              flags::text("kubernetes-version", &Flags::kubernetes_version,
                          "e.g. v1.30.2: decides native or classic sidecars\n"
                          "without asking the API server (sidecarMode auto)")
                  .value_name("V"),
              flags::text("kubeconfig", &Flags::kubeconfig, "API access")
                  .value_name("FILE")
                  .shown_default("in-cluster, then $KUBECONFIG"),
              flags::log_level("log-level", &Flags::log_level, "debug, info, warn or error"),
              flags::integer("threads", &Flags::threads, 1, 64, "server threads"),
              flags::integer("max-connections", &Flags::max_connections, 1, 1000000,
                             "open connections at most"),
              flags::integer("max-connections-per-source", &Flags::max_connections_per_source, 1,
                             1000000, "open connections from one client address at most"),
              flags::integer("max-review-bytes", &Flags::max_review_bytes, 1024, 64LL << 20,
                             "largest AdmissionReview body accepted (413 beyond)"),
              flags::integer("max-review-bytes-in-flight", &Flags::max_review_bytes_in_flight, 1024,
                             1LL << 32, "review body bytes read or handled at once (503 beyond)"),
              flags::integer("large-review-bytes", &Flags::large_review_bytes, 1024, 64LL << 20,
                             "a review body above this is large (see --max-large-reviews)"),
              flags::integer("max-large-reviews", &Flags::max_large_reviews, 1, 100000,
                             "large review bodies read or handled at once (503 beyond)"),
              flags::integer("max-review-bytes-in-flight-per-source",
                             &Flags::max_review_bytes_in_flight_per_source, 1024, 1LL << 32,
                             "review body bytes one client address may hold at\n"
                             "once (503 beyond)"),
              flags::integer("max-large-reviews-per-source", &Flags::max_large_reviews_per_source,
                             1, 100000, "large review bodies one client address may hold at once"),
              flags::integer("shed-memory-bytes", &Flags::shed_memory_bytes, 0, 1LL << 40,
                             "refuse reviews (503) while resident memory is above\n"
                             "this; 0 never"),
              flags::boolean("provision-certificates", &Flags::provision_certificates,
                             "keep a CA and serving certificate in a Secret, write\n"
                             "them to the --tls-* files, fill the caBundle, rotate"),
              flags::custom("certificate-secret", &Flags::certificate_secret, parse_secret_name,
                            "the Secret holding them")
                  .value_name("NS/NAME")
                  .shown_default("weft-system/weft-webhook-tls"),
              flags::text("webhook-configuration", &Flags::webhook_configuration,
                          "MutatingWebhookConfiguration to fill")
                  .value_name("NAME"),
              flags::list("certificate-dns-names", &Flags::certificate_dns_names,
                          "names in the certificate, comma-separated (IP\n"
                          "addresses become IP SANs)")
                  .comma_separated()
                  .value_name("LIST"),
          },
      .footer = "Endpoints: POST /mutate, POST /mutate-opt-in, GET /healthz, /readyz, /metrics.",
  };
  return table;
}

}  // namespace

std::string usage() {
  return flags::usage(program());
}

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  auto parsed = flags::parse(program(), args);
  if (!parsed) return parsed.error();
  Flags result = std::move(parsed->options);
  result.help = parsed->help;
  if (result.help) return result;
  if (result.tls_cert_file.empty() || result.tls_private_key_file.empty()) {
    return Error{"--tls-cert-file and --tls-private-key-file are required"};
  }
  return result;
}

}  // namespace weft::webhook
