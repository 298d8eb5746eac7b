#include "webhook/flags.h"

#include <charconv>

namespace weft::webhook {
namespace {

Result<long> parse_int(const std::string& flag, const std::string& text, long min, long max) {
  long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return Error{"--" + flag + ": '" + text + "' is not a number from " + std::to_string(min) +
                 " to " + std::to_string(max)};
  }
  return value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

}  // namespace

std::string usage() {
  return R"(weft-webhook: the Weft mutating admission webhook (injects weft-init and weft-proxy).

Usage: weft-webhook --tls-cert-file=FILE --tls-private-key-file=FILE [flags]

  --tls-cert-file FILE          PEM serving certificate (chain); reloaded when it changes
  --tls-private-key-file FILE   PEM private key; reloaded when it changes
  --port N                      HTTPS port (default 8443; 0 picks a free one)
  --address IP                  listen address (default 0.0.0.0)
  --config FILE                 injection settings (JSON; see docs/webhook.md)
  --kubernetes-version V        e.g. v1.30.2: decides native or classic sidecars
                                without asking the API server (sidecarMode auto)
  --kubeconfig FILE             API access (default: in-cluster, then $KUBECONFIG)
  --log-level L                 debug, info, warn, error (default info)
  --threads N                   server threads (default 2)
  --max-connections N           open connections at most (default 1024)
  --provision-certificates      keep a CA and serving certificate in a Secret, write
                                them to the --tls-* files, fill the caBundle, rotate
  --certificate-secret NS/NAME  (default weft-system/weft-webhook-tls)
  --webhook-configuration NAME  MutatingWebhookConfiguration to fill (default weft-webhook)
  --certificate-dns-names LIST  comma-separated names (IP addresses become IP SANs;
                                default weft-webhook.weft-system.svc)
  --help                        this text

Endpoints: POST /mutate, POST /mutate-opt-in, GET /healthz, /readyz, /metrics.
)";
}

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!arg.starts_with("--")) return Error{"unexpected argument '" + arg + "' (see --help)"};
    arg = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const auto equals = arg.find('='); equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
      has_value = true;
    }
    if (arg == "help" || arg == "provision-certificates") {
      if (has_value && value != "true" && value != "false") {
        return Error{"--" + arg + " takes no value (or =true/=false)"};
      }
      const bool on = !has_value || value == "true";
      (arg == "help" ? flags.help : flags.provision_certificates) = on;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Error{"--" + arg + " needs a value"};
      value = args[++i];
    }
    if (arg == "tls-cert-file") {
      flags.tls_cert_file = value;
    } else if (arg == "tls-private-key-file") {
      flags.tls_private_key_file = value;
    } else if (arg == "address") {
      flags.address = value;
    } else if (arg == "port") {
      auto port = parse_int(arg, value, 0, 65535);
      if (!port) return port.error();
      flags.port = static_cast<std::uint16_t>(*port);
    } else if (arg == "config") {
      flags.config_file = value;
    } else if (arg == "log-level") {
      flags.log_level = value;
    } else if (arg == "threads") {
      auto threads = parse_int(arg, value, 1, 64);
      if (!threads) return threads.error();
      flags.threads = static_cast<int>(*threads);
    } else if (arg == "max-connections") {
      auto max = parse_int(arg, value, 1, 1000000);
      if (!max) return max.error();
      flags.max_connections = static_cast<int>(*max);
    } else if (arg == "kubernetes-version") {
      flags.kubernetes_version = value;
    } else if (arg == "kubeconfig") {
      flags.kubeconfig = value;
    } else if (arg == "certificate-secret") {
      if (value.find('/') == std::string::npos) {
        return Error{"--certificate-secret must be namespace/name, not '" + value + "'"};
      }
      flags.certificate_secret = value;
    } else if (arg == "webhook-configuration") {
      flags.webhook_configuration = value;
    } else if (arg == "certificate-dns-names") {
      flags.certificate_dns_names = split_commas(value);
    } else {
      return Error{"unknown flag --" + arg + " (see --help)"};
    }
  }
  if (flags.help) return flags;
  if (flags.tls_cert_file.empty() || flags.tls_private_key_file.empty()) {
    return Error{"--tls-cert-file and --tls-private-key-file are required"};
  }
  return flags;
}

}  // namespace weft::webhook
