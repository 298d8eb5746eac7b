// weft-webhook: the MutatingWebhookConfiguration registered with a caBundle
// that verifies the serving certificate in the Secret weft-webhook-tls, which
// names the webhook's Service and is not about to expire.

#include <set>
#include <string>

#include "webhook/certificate_plan.h"
#include "weft/base64.h"
#include "weft/identity/x509.h"
#include "weftctl/check/certificate_validity.h"
#include "weftctl/check/checks.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "weft-webhook";
constexpr std::string_view kRenewHint =
    "the webhook makes and renews it (--provision-certificates): kubectl -n weft-system logs "
    "deployment/weft-webhook; to start over, delete the Secret weft-webhook-tls and kubectl -n "
    "weft-system rollout restart deployment/weft-webhook";

}  // namespace

CheckResults check_webhook(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;
  const Answer& configuration = facts.webhook_configuration;
  const std::string registered =
      "the webhook is registered (MutatingWebhookConfiguration "
      "weft-webhook)";
  if (!configuration.found()) {
    results.push_back(fail(category, registered,
                           configuration.not_found() ? "not found" : configuration.describe(),
                           "kubectl apply --server-side -f manifests/webhook.yaml"));
    return results;
  }
  const auto webhooks = configuration.body.value("webhooks", nlohmann::json::array());
  if (!webhooks.is_array() || webhooks.empty()) {
    results.push_back(fail(category, registered, "it lists no webhook",
                           "kubectl apply --server-side -f manifests/webhook.yaml"));
    return results;
  }
  results.push_back(ok(category, registered));

  // Every webhook's caBundle, and the Service the API server calls.
  std::set<std::string> bundles;
  std::string without_bundle;
  for (const auto& webhook : webhooks) {
    const auto bundle = base64_decode(text_at(webhook, "/clientConfig/caBundle"));
    if (!bundle || bundle->empty()) {
      without_bundle += (without_bundle.empty() ? "" : ", ") + webhook.value("name", "?");
    } else {
      bundles.insert(*bundle);
    }
  }
  const std::string service_name = text_at(webhooks[0], "/clientConfig/service/name");
  const std::string service_namespace = text_at(webhooks[0], "/clientConfig/service/namespace");
  const std::string host = service_name + "." + service_namespace + ".svc";

  const std::string bundle_set = "its caBundle is set";
  if (!without_bundle.empty()) {
    results.push_back(fail(category, bundle_set, "no caBundle in " + without_bundle,
                           "the webhook fills it at start: " + std::string(kRenewHint)));
    return results;
  }
  results.push_back(ok(category, bundle_set));

  const std::string readable = "its serving certificate is readable (Secret weft-webhook-tls)";
  const Answer& secret = facts.webhook_secret;
  if (!secret.found()) {
    if (secret.status == 403) {
      results.push_back(warn(category, readable, secret.describe(),
                             "checking the certificate needs get on Secrets in weft-system"));
    } else {
      results.push_back(fail(category, readable,
                             secret.not_found() ? "not found" : secret.describe(),
                             std::string(kRenewHint)));
    }
    return results;
  }
  const std::string certificate_pem = secret_value(secret.body, webhook::kTlsCertKey);
  const auto certificate = identity::inspect_certificate(certificate_pem);
  if (!certificate) {
    results.push_back(fail(category, readable, "tls.crt: " + certificate.error().message,
                           std::string(kRenewHint)));
    return results;
  }
  results.push_back(ok(category, readable, certificate->subject));

  const std::string verifies = "the caBundle verifies the serving certificate";
  std::string failures;
  for (const auto& bundle : bundles) {
    auto verified =
        identity::verify_chain(certificate_pem, bundle, inside_window(*certificate, facts.now));
    if (!verified) failures += (failures.empty() ? "" : "; ") + verified.error().message;
  }
  if (!failures.empty()) {
    results.push_back(fail(category, verifies,
                           failures + ": the API server refuses the webhook's TLS, so pods of "
                                      "meshed namespaces cannot be created",
                           std::string(kRenewHint)));
  } else {
    results.push_back(ok(category, verifies));
  }

  const std::string names = "the serving certificate names " + host;
  bool named = false;
  for (const auto& dns : certificate->dns_names) named = named || dns == host;
  if (!named) {
    std::string present;
    for (const auto& dns : certificate->dns_names) present += (present.empty() ? "" : ", ") + dns;
    results.push_back(fail(category, names,
                           "its DNS names are " + (present.empty() ? "none" : present) +
                               ": the API server calls " + host + " and refuses it",
                           "the webhook's --certificate-dns-names must list " + host + "; " +
                               std::string(kRenewHint)));
  } else {
    results.push_back(ok(category, names));
  }

  results.push_back(judge_validity(category, "the serving certificate is valid", *certificate,
                                   facts.now, webhook::CertificatePolicy{}.renew_serving_before,
                                   std::string(kRenewHint)));
  return results;
}

}  // namespace weft::ctl::check
