#pragma once

// The loop that keeps weft-identity's trust chain in hand: it reads the
// Secrets and the bundle, follows the trust plan one step at a time, publishes
// the issuer to the service (or why there is none) and writes the serving
// certificate the TLS server loads. A user who rotates the issuer Secret is
// picked up at the next pass, without a restart.

#include <memory>
#include <stop_token>
#include <string>

#include "identity/cluster.h"
#include "identity/options.h"
#include "identity/service.h"
#include "identity/signer.h"
#include "identity/trust_plan.h"

namespace weft::identity {

class Runner {
 public:
  Runner(const Options& options, std::shared_ptr<kube::Client> client, IdentityService& service,
         Logger& logger);

  // One pass (a few steps at most).
  void reconcile();
  // reconcile() every --resync-interval (sooner when the serving certificate
  // is due, see pass_schedule.h) until stop.
  void run(std::stop_token stop);

  std::string cert_file() const;
  std::string key_file() const;

 private:
  // Carries out a step; false when it could not (logged).
  bool act(const TrustPlan& plan, const TrustFacts& facts, const StoredTrust& stored);
  void publish(const TrustPlan& plan, const TrustFacts& facts);
  void write_serving_certificate();

  const Options options_;
  TrustStore store_;
  IdentityService& service_;
  Logger& logger_;
  WorkloadIdentity self_;
  std::shared_ptr<IssuerSigner> signer_;  // the one published
  std::string last_refusal_;
  std::string last_warning_;
  std::chrono::system_clock::time_point serving_renew_at_{};
};

}  // namespace weft::identity
