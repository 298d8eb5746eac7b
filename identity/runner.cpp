#include "identity/runner.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "identity/assess.h"
#include "identity/pass_schedule.h"
#include "weft/file.h"

namespace weft::identity {
namespace {

using Clock = std::chrono::system_clock;

// Enough for the longest first install (anchor, issuer, bundle) plus a lost race.
constexpr int kMaxStepsPerPass = 6;

}  // namespace

Runner::Runner(const Options& options, std::shared_ptr<kube::Client> client,
               IdentityService& service, Logger& logger)
    : options_(options),
      store_(std::move(client), options.ns),
      service_(service),
      logger_(logger),
      self_(*make_identity(options.trust_domain, options.ns, options.service_account)) {}

std::string Runner::cert_file() const {
  return (std::filesystem::path(options_.serving_dir) / "tls.crt").string();
}

std::string Runner::key_file() const {
  return (std::filesystem::path(options_.serving_dir) / "tls.key").string();
}

void Runner::reconcile() {
  const TrustPolicy policy{options_.issuer_renew_before, options_.issuer_lifetime};
  for (int step = 0; step < kMaxStepsPerPass; ++step) {
    auto stored = store_.read();
    if (!stored) {
      // The issuer in hand stays in use: it is valid until its own end.
      logger_.warn("cannot read the trust chain; keeping the issuer in use",
                   {{"error", stored.error().message}});
      return;
    }
    const auto now = Clock::now();
    TrustFacts facts;
    facts.anchor = assess_anchor(stored->anchor);
    facts.bundle = assess_bundle(stored->bundle);
    facts.issuer = assess_issuer(stored->issuer, facts.bundle, options_.trust_domain, now);
    const TrustPlan plan = plan_trust(facts, policy, now);
    publish(plan, facts);
    if (plan.step == TrustStep::kNone || !act(plan, facts, *stored)) break;
  }
  write_serving_certificate();
}

bool Runner::act(const TrustPlan& plan, const TrustFacts& facts, const StoredTrust& stored) {
  const auto now = Clock::now();
  Result<bool> done = false;
  switch (plan.step) {
    case TrustStep::kNone:
      return false;
    case TrustStep::kCreateAnchor: {
      auto anchor = make_trust_anchor(options_.trust_domain, options_.anchor_lifetime, now);
      if (!anchor) {
        done = Error{"cannot make a trust anchor: " + anchor.error().message};
        break;
      }
      done = store_.create_secret(kAnchorSecret, {{std::string(kCertKey), anchor->cert_pem},
                                                  {std::string(kKeyKey), anchor->key_pem},
                                                  {std::string(kCaKey), anchor->cert_pem}});
      break;
    }
    case TrustStep::kCreateIssuer:
    case TrustStep::kRenewIssuer: {
      const KeyedCertificate anchor{facts.anchor->cert_pem, facts.anchor->key_pem};
      auto issuer = make_issuer(anchor, options_.trust_domain, options_.issuer_lifetime, now);
      if (!issuer) {
        done = Error{"cannot make an issuer: " + issuer.error().message};
        break;
      }
      const std::map<std::string, std::string> data{{std::string(kCertKey), issuer->cert_pem},
                                                    {std::string(kKeyKey), issuer->key_pem},
                                                    {std::string(kCaKey), anchor.cert_pem}};
      done = plan.step == TrustStep::kCreateIssuer
                 ? store_.create_secret(kIssuerSecret, data)
                 : store_.update_secret(kIssuerSecret, stored.issuer->resource_version, data);
      break;
    }
    case TrustStep::kCreateBundle:
      done = store_.create_bundle(join_certificates(plan.bundle));
      break;
    case TrustStep::kUpdateBundle:
      done = store_.update_bundle(stored.bundle->resource_version, join_certificates(plan.bundle));
      break;
  }
  if (!done) {
    logger_.error("trust chain step failed",
                  {{"step", to_string(plan.step)}, {"error", done.error().message}});
    return false;
  }
  logger_.info(*done ? "trust chain step done" : "trust chain step lost a race; reading again",
               {{"step", to_string(plan.step)}, {"namespace", options_.ns}});
  return true;
}

void Runner::publish(const TrustPlan& plan, const TrustFacts& facts) {
  if (facts.bundle && facts.bundle->problem.empty()) {
    service_.set_anchor_expiry(facts.bundle->anchor_names, facts.bundle->anchor_not_after);
  }
  if (plan.warning != last_warning_) {
    if (!plan.warning.empty()) logger_.warn("trust chain", {{"warning", plan.warning}});
    last_warning_ = plan.warning;
  }
  if (!plan.can_issue) {
    if (plan.refusal != last_refusal_) {
      logger_.log(refusal_resolved_by_step(plan) ? LogLevel::kInfo : LogLevel::kError,
                  "not issuing", {{"reason", plan.refusal}, {"kind", plan.refusal_kind}});
      last_refusal_ = plan.refusal;
    }
    signer_.reset();
    service_.publish(nullptr, plan.refusal);
    service_.set_issuer_expiry(std::nullopt);
    return;
  }
  last_refusal_.clear();
  const IssuerFacts& issuer = *facts.issuer;
  if (signer_ && signer_->issuer().cert_pem == issuer.cert_pem &&
      signer_->issuer().key_pem == issuer.key_pem) {
    return;  // unchanged
  }
  signer_ =
      std::make_shared<IssuerSigner>(KeyedCertificate{issuer.cert_pem, issuer.key_pem},
                                     issuer.chain_pem, issuer.not_after, options_.leaf_lifetime);
  service_.publish(signer_, "");
  service_.set_issuer_expiry(issuer.not_after);
  serving_renew_at_ = {};  // a new issuer: a new serving certificate
  logger_.info("issuing with issuer", {{"managedByWeft", issuer.managed},
                                       {"notAfter", format_log_timestamp(issuer.not_after)}});
}

void Runner::write_serving_certificate() {
  if (!signer_) return;
  const auto now = Clock::now();
  if (now < serving_renew_at_) return;
  auto serving =
      make_serving_certificate(*signer_, options_.dns_names, self_, options_.leaf_lifetime, now);
  if (!serving) {
    logger_.error("cannot make the serving certificate", {{"error", serving.error().message}});
    return;
  }
  auto facts = inspect_certificate(serving->cert_pem);
  if (!facts) {
    logger_.error("cannot read the serving certificate", {{"error", facts.error().message}});
    return;
  }
  std::error_code ignored;
  std::filesystem::create_directories(options_.serving_dir, ignored);
  // The key first: the server takes a new pair only once both files match.
  using std::filesystem::perms;
  if (auto written = write_file_atomically(key_file(), serving->key_pem,
                                           perms::owner_read | perms::owner_write);
      !written) {
    logger_.error("cannot write the serving key", {{"error", written.error().message}});
    return;
  }
  if (auto written = write_file_atomically(
          cert_file(), serving->cert_pem,
          perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
      !written) {
    logger_.error("cannot write the serving certificate", {{"error", written.error().message}});
    return;
  }
  // Renewed at 70 % of its life, as proxies renew their leaves: counted from
  // now, not from its notBefore (backdated a minute for clock skew, which
  // would make a certificate of seconds due at once).
  const auto from = std::max(facts->not_before, now);
  serving_renew_at_ = from + (facts->not_after - from) * 7 / 10;
  logger_.info("serving certificate written",
               {{"file", cert_file()}, {"notAfter", format_log_timestamp(facts->not_after)}});
}

void Runner::run(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex);
      // Without an issuer there is no serving certificate to renew: the
      // resync interval alone.
      const auto renew_at = signer_ ? serving_renew_at_ : Clock::time_point{};
      wake.wait_for(lock, stop, next_pass_delay(options_.resync_interval, renew_at, Clock::now()),
                    [] { return false; });
    }
    if (stop.stop_requested()) return;
    reconcile();
  }
}

}  // namespace weft::identity
