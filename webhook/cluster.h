#pragma once

// The webhook's conversations with the API server, kept out of the pure core:
// the server's version (for the sidecar mode) and the serving certificate.

#include <memory>
#include <stop_token>
#include <string>

#include "webhook/certificate_plan.h"
#include "webhook/flags.h"
#include "weft/log.h"
#include "weft/result.h"

namespace weft::kube {
class Client;
}

namespace weft::webhook {

// GET /version: gitVersion, e.g. "v1.34.4".
Result<std::string> discover_kubernetes_version(const std::string& kubeconfig);

// Keeps the serving certificate in a Secret, writes it to the --tls-* files (the
// server reloads them) and fills the caBundle of the MutatingWebhookConfiguration.
// Idempotent and safe with several replicas: writes carry the resourceVersion
// read, so two replicas racing to create or rotate end with one Secret, which
// both then use. No leader election needed.
class CertificateProvisioner {
 public:
  static Result<std::shared_ptr<CertificateProvisioner>> create(const Flags& flags, Logger& logger);

  // One pass; retries a lost race a few times.
  Result<bool> reconcile();
  // reconcile() every hour (every 30 s after a failure) until stop.
  void run(std::stop_token stop);

  CertificateProvisioner(std::shared_ptr<kube::Client> client, const Flags& flags, Logger& logger);

 private:
  Result<bool> reconcile_once(bool& lost_race);
  Result<bool> write_files(const CertificateBundle& bundle);
  Result<bool> fill_ca_bundle(const CertificateBundle& bundle);

  std::shared_ptr<kube::Client> client_;
  std::string secret_namespace_;
  std::string secret_name_;
  std::string webhook_configuration_;
  std::vector<std::string> dns_names_;
  std::string cert_file_;
  std::string key_file_;
  CertificatePolicy policy_;
  Logger& logger_;
};

}  // namespace weft::webhook
