#include "webhook/cluster.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "weft/base64.h"
#include "weft/constants.h"
#include "weft/file.h"
#include "weft/kube/client.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

const kube::ResourceType& mutating_webhook_configurations() {
  static const kube::ResourceType type{"admissionregistration.k8s.io", "v1",
                                       "MutatingWebhookConfiguration",
                                       "mutatingwebhookconfigurations", false};
  return type;
}

Result<std::shared_ptr<kube::Client>> connect(const std::string& kubeconfig) {
  auto config = kube::load_default_config(kubeconfig);
  if (!config) return Error{config.error().message};
  auto client = kube::Client::from_config(*config);
  if (!client) return Error{client.error().message};
  return *client;
}

std::optional<CertificateBundle> bundle_from_secret(const json& secret) {
  const auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return std::nullopt;
  const auto field = [&](std::string_view key) -> std::string {
    const auto it = data->find(std::string(key));
    if (it == data->end() || !it->is_string()) return {};
    return base64_decode(it->get<std::string>()).value_or("");
  };
  return CertificateBundle{field(kCaCertKey), field(kCaKeyKey), field(kTlsCertKey),
                           field(kTlsKeyKey)};
}

json secret_data(const CertificateBundle& bundle) {
  return {{kCaCertKey, base64_encode(bundle.ca_cert)},
          {kCaKeyKey, base64_encode(bundle.ca_key)},
          {kTlsCertKey, base64_encode(bundle.tls_cert)},
          {kTlsKeyKey, base64_encode(bundle.tls_key)}};
}

// Whether the file holds exactly `content` (a missing file does not).
bool holds(const std::string& path, const std::string& content) {
  const auto text = read_file(path);
  return text && *text == content;
}

}  // namespace

Result<std::string> discover_kubernetes_version(const std::string& kubeconfig) {
  auto client = connect(kubeconfig);
  if (!client) return client.error();
  auto version = (*client)->request(kube::RawRequest{"GET", "/version", "", "application/json"});
  if (!version) return Error{version.error().message};
  const auto git_version = version->find("gitVersion");
  if (git_version == version->end() || !git_version->is_string()) {
    return Error{"/version has no gitVersion"};
  }
  return git_version->get<std::string>();
}

Result<std::shared_ptr<CertificateProvisioner>> CertificateProvisioner::create(const Flags& flags,
                                                                               Logger& logger) {
  auto client = connect(flags.kubeconfig);
  if (!client) return client.error();
  return std::make_shared<CertificateProvisioner>(std::move(*client), flags, logger);
}

CertificateProvisioner::CertificateProvisioner(std::shared_ptr<kube::Client> client,
                                               const Flags& flags, Logger& logger)
    : client_(std::move(client)),
      secret_namespace_(flags.certificate_secret.substr(0, flags.certificate_secret.find('/'))),
      secret_name_(flags.certificate_secret.substr(flags.certificate_secret.find('/') + 1)),
      webhook_configuration_(flags.webhook_configuration),
      dns_names_(flags.certificate_dns_names),
      cert_file_(flags.tls_cert_file),
      key_file_(flags.tls_private_key_file),
      logger_(logger) {}

Result<bool> CertificateProvisioner::reconcile() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    bool lost_race = false;
    auto done = reconcile_once(lost_race);
    if (!lost_race) return done;
  }
  return Error{"the certificate Secret kept changing under us"};
}

Result<bool> CertificateProvisioner::reconcile_once(bool& lost_race) {
  auto secret = client_->get(kube::resources::secrets(), secret_namespace_, secret_name_);
  const bool exists = static_cast<bool>(secret);
  if (!exists && !secret.is_error(kube::ErrorKind::kNotFound)) return Error{secret.error().message};
  const auto current = exists ? bundle_from_secret(*secret) : std::nullopt;
  auto plan = plan_certificates(current, dns_names_, policy_, std::chrono::system_clock::now());
  if (!plan) return plan.error();

  if (plan->changed) {
    json object = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"type", "kubernetes.io/tls"},
                   {"metadata",
                    {{"name", secret_name_},
                     {"namespace", secret_namespace_},
                     {"labels", {{kComponentLabel, "webhook"}}}}},
                   {"data", secret_data(plan->bundle)}};
    if (exists) {
      object["metadata"]["resourceVersion"] = (*secret)["metadata"]["resourceVersion"];
      auto updated = client_->update(kube::resources::secrets(), object);
      if (updated.is_error(kube::ErrorKind::kConflict)) {
        lost_race = true;
        return false;
      }
      if (!updated) return Error{updated.error().message};
    } else {
      auto created = client_->create(kube::resources::secrets(), object);
      if (created.is_error(kube::ErrorKind::kAlreadyExists)) {
        lost_race = true;
        return false;
      }
      if (!created) return Error{created.error().message};
    }
    logger_.info("serving certificate written",
                 {{"secret", secret_namespace_ + "/" + secret_name_}, {"reason", plan->reason}});
  }
  if (auto files = write_files(plan->bundle); !files) return files;
  return fill_ca_bundle(plan->bundle);
}

Result<bool> CertificateProvisioner::write_files(const CertificateBundle& bundle) {
  // The key first: the server takes a new pair only once both files match.
  if (!holds(key_file_, bundle.tls_key)) {
    // Private from its first byte: created 0600, not chmod-ed after the fact.
    constexpr auto kPrivate =
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
    if (auto written = write_file_atomically(key_file_, bundle.tls_key, kPrivate); !written) {
      return written;
    }
  }
  if (!holds(cert_file_, bundle.tls_cert)) {
    constexpr auto kPublic =
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
        std::filesystem::perms::group_read | std::filesystem::perms::others_read;
    if (auto written = write_file_atomically(cert_file_, bundle.tls_cert, kPublic); !written) {
      return written;
    }
  }
  return true;
}

Result<bool> CertificateProvisioner::fill_ca_bundle(const CertificateBundle& bundle) {
  auto configuration = client_->get(mutating_webhook_configurations(), "", webhook_configuration_);
  if (configuration.is_error(kube::ErrorKind::kNotFound)) {
    logger_.warn("MutatingWebhookConfiguration not found; caBundle not filled yet",
                 {{"name", webhook_configuration_}});
    return true;
  }
  if (!configuration) return Error{configuration.error().message};
  const std::string ca_bundle = base64_encode(bundle.ca_cert);
  json patch = json::array();
  const auto webhooks = configuration->find("webhooks");
  if (webhooks == configuration->end() || !webhooks->is_array()) return true;
  for (std::size_t i = 0; i < webhooks->size(); ++i) {
    const json& webhook = (*webhooks)[i];
    const std::string at = "/webhooks/" + std::to_string(i);
    if (webhook.value("/clientConfig/caBundle"_json_pointer, std::string()) == ca_bundle) continue;
    // The test guards against the list changing between our read and the patch.
    patch.push_back({{"op", "test"}, {"path", at + "/name"}, {"value", webhook.value("name", "")}});
    patch.push_back({{"op", "add"}, {"path", at + "/clientConfig/caBundle"}, {"value", ca_bundle}});
  }
  if (patch.empty()) return true;
  auto patched = client_->patch(mutating_webhook_configurations(), "", webhook_configuration_,
                                kube::PatchType::kJson, patch);
  if (!patched) return Error{patched.error().message};
  logger_.info("caBundle filled", {{"webhookConfiguration", webhook_configuration_}});
  return true;
}

void CertificateProvisioner::run(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  while (!stop.stop_requested()) {
    auto done = reconcile();
    if (!done) logger_.warn("certificate provisioning failed", {{"error", done.error().message}});
    const auto pause = done ? std::chrono::seconds(3600) : std::chrono::seconds(30);
    std::unique_lock lock(mutex);
    wake.wait_for(lock, stop, pause, [] { return false; });
  }
}

}  // namespace weft::webhook
