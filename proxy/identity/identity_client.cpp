#include "proxy/identity/identity_client.h"

#include <cmath>

#include "proxy/config/api_server_access.h"
#include "proxy/core/deadline.h"
#include "proxy/core/tls_client.h"
#include "weft/identity/x509.h"

namespace weft::proxy {
namespace {

using Clock = std::chrono::system_clock;
using F = IssuanceFailure;

IssuanceError fail(IssuanceFailure kind, std::string message) {
  IssuanceError error;
  error.message = std::move(message);
  error.kind = kind;
  return error;
}

double unix_seconds(identity::TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

double milliseconds_between(std::chrono::steady_clock::time_point from,
                            std::chrono::steady_clock::time_point to) {
  // To a tenth of a millisecond: a log line, not a measurement instrument.
  return std::round(std::chrono::duration<double, std::milli>(to - from).count() * 10) / 10;
}

std::string authority(const HostPort& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace

IdentityClient::Options IdentityClient::options_from(const Settings& settings) {
  Options options;
  options.address = settings.identity_address;
  options.token_file = settings.identity_token_file;
  options.service_account = settings.service_account;
  options.ns = settings.pod_namespace;
  if (options.ns.empty()) {
    options.ns = read_token(settings.service_account_dir + "/namespace").value_or("");
  }
  options.policy.renew_fraction = settings.identity_renew_fraction;
  options.request_timeout = settings.identity_request_timeout;
  options.max_response_bytes = settings.identity_max_response_bytes;
  return options;
}

IdentityClient::IdentityClient(Options options, ConfigStore& config, CredentialStore& store,
                               IdentityMetrics& metrics, Logger& log)
    : options_(std::move(options)), config_(config), store_(store), metrics_(metrics), log_(log) {}

IdentityClient::~IdentityClient() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void IdentityClient::start() {
  // Decided before the thread starts, so /ready never answers 200 for an
  // identity-enabled proxy that has not looked yet.
  wanted_identity();
  asio::co_spawn(io_, run(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

std::string IdentityClient::not_ready_reason() const {
  if (!on_.load()) return {};
  const auto current = store_.current();
  if (current && Clock::now() < current->not_after) return {};
  std::string reason =
      current ? "identity certificate expired at " + format_log_timestamp(current->not_after)
              : std::string("no identity certificate yet");
  std::lock_guard lock(mutex_);
  if (!last_error_.empty()) reason += " (last request: " + last_error_ + ")";
  return reason;
}

void IdentityClient::set_last_error(std::string error) {
  std::lock_guard lock(mutex_);
  last_error_ = std::move(error);
}

std::optional<proxyconfig::IdentityConfig> IdentityClient::wanted_identity() {
  const auto snapshot = config_.current();
  std::optional<proxyconfig::IdentityConfig> wanted;
  if (snapshot) wanted = snapshot->document().identity;
  const bool on = wanted.has_value();
  on_.store(on);
  if (logged_on_ != on) {
    logged_on_ = on;
    if (on) {
      log_.info("identity on: requesting a certificate from weft-identity",
                {{"address", authority(options_.address)}, {"trust_domain", wanted->trust_domain}});
    } else {
      log_.info("identity off: the document carries no identity section (plaintext mesh)");
    }
  }
  return wanted;
}

awaitable<void> IdentityClient::run() {
  using Action = RenewalDecision::Action;
  Timer timer(io_);
  RenewalFailures failures;
  identity::TimePoint leaf_valid_from{};
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  while (true) {
    const auto wanted = wanted_identity();
    std::chrono::steady_clock::duration wait = options_.document_poll;
    if (wanted) {
      const auto current = store_.current();
      const auto decision = decide_renewal({current.get(), leaf_valid_from, wanted->trust_domain,
                                            wanted->trust_anchors_pem, Clock::now(), failures},
                                           options_.policy, identity::verify_workload_chain);
      if (decision.action == Action::kUpdateAnchors) {
        Credentials updated = *current;
        updated.anchors_pem = wanted->trust_anchors_pem;
        store_.set(std::move(updated));
        log_.info("trust anchors updated; the certificate held still verifies against them");
        continue;
      }
      if (decision.action == Action::kRequest) {
        log_.debug("requesting a certificate", {{"reason", decision.reason}});
        const auto asked = std::chrono::steady_clock::now();
        auto issued = co_await request_once(*wanted);
        const auto answered = std::chrono::steady_clock::now();
        if (issued.has_value()) {
          metrics_.issuance_duration.observe(
              std::chrono::duration<double>(answered - asked).count());
          leaf_valid_from = std::max(issued->not_before, Clock::now());
          const auto not_after = issued->credentials.not_after;
          const std::string uri = issued->credentials.self.uri();
          store_.set(std::move(issued.value().credentials));
          failures = {};
          set_last_error({});
          metrics_.refresh_success.inc();
          metrics_.expiration_timestamp.set(unix_seconds(not_after));
          log_.info("identity certificate obtained",
                    {{"identity", uri},
                     {"not_after", format_log_timestamp(not_after)},
                     {"renew_at", format_log_timestamp(renewal_time(
                                      leaf_valid_from, not_after, options_.policy.renew_fraction))},
                     {"reason", decision.reason},
                     {"duration_ms", milliseconds_between(asked, answered)},
                     {"since_start_ms", milliseconds_between(options_.process_started, answered)}});
        } else {
          const IssuanceError& error = issued.error();
          failures.count += 1;
          failures.last = Clock::now();
          failures.jitter_draw = draw(rng_);
          set_last_error(std::string(to_string(error.kind)) + ": " + error.message);
          metrics_.refresh_failure.inc();
          metrics_.failure(error.kind).inc();
          const auto retry_in =
              backoff_delay(options_.policy.backoff, failures.count - 1, failures.jitter_draw);
          log_.warn("identity certificate request failed", {{"reason", to_string(error.kind)},
                                                            {"error", error.message},
                                                            {"failures", failures.count},
                                                            {"retry_in_ms", retry_in.count()}});
        }
        continue;
      }
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                decision.at - Clock::now()));
    }
    timer.expires_after(std::max(wait, std::chrono::steady_clock::duration::zero()));
    error_code ignored;
    co_await timer.async_wait(redirect(ignored));
  }
}

awaitable<Result<Issued, IssuanceError>> IdentityClient::request_once(
    const proxyconfig::IdentityConfig& wanted) {
  const auto self =
      identity::make_identity(wanted.trust_domain, options_.ns, options_.service_account);
  if (!self.has_value()) {
    co_return fail(F::kNoIdentity,
                   "this pod's identity (namespace '" + options_.ns + "', service account '" +
                       options_.service_account +
                       "'; --pod-namespace, --service-account): " + self.error().message);
  }
  // Read for each request: the kubelet rotates the projected token in place.
  const auto token = read_token(options_.token_file);
  if (!token) co_return fail(F::kToken, "no token in " + options_.token_file);
  // A fresh key for each certificate, in memory only.
  auto key = identity::make_certificate_request(self.value());
  if (!key.has_value()) co_return fail(F::kKey, key.error().message);

  asio::ssl::context tls(asio::ssl::context::tls_client);
  if (auto error = configure_client_tls(tls, wanted.trust_anchors_pem, TLS1_3_VERSION);
      !error.empty()) {
    co_return fail(F::kTls, error);
  }
  TlsStream stream(io_, tls);
  Deadline deadline(io_.get_executor());
  deadline.arm(stream.next_layer(), options_.request_timeout);
  const auto failed = [&](IssuanceFailure kind, const std::string& error) {
    return fail(deadline.expired() ? F::kTimeout : kind, error);
  };
  if (auto error = co_await connect_tls(stream, options_.address.host, options_.address.port,
                                        options_.server_name);
      !error.empty()) {
    co_return failed(error.starts_with("TLS") ? F::kTls : F::kConnect, error);
  }

  const std::string body = certificate_request_body(key->csr_pem);
  const std::string request =
      "POST /v1/certificates HTTP/1.1\r\nHost: " + authority(options_.address) +
      "\r\nAuthorization: Bearer " + *token +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nAccept: application/json\r\nUser-Agent: weft-proxy\r\n"
      "Connection: close\r\n\r\n" +
      body;
  error_code ec;
  co_await asio::async_write(stream, asio::buffer(request), redirect(ec));
  if (ec) co_return failed(F::kConnect, "sending the request: " + ec.message());

  ReadBuffer buffer;
  http1::ResponseHead head;
  std::size_t head_size = 0;
  if (auto error = co_await read_response_head(stream, buffer, "POST", head, head_size);
      !error.empty()) {
    co_return failed(F::kMalformed, error);
  }
  const int status = head.status;
  http1::BodyDecoder decoder;
  decoder.reset(head.body, head.content_length);
  buffer.consume(head_size);  // head's views are invalid from here
  std::string answer;
  bool too_big = false;
  if (auto error = co_await read_body(stream, buffer, decoder,
                                      [&](std::string_view data) {
                                        too_big = answer.size() + data.size() >
                                                  options_.max_response_bytes;
                                        if (!too_big) answer += data;
                                        return !too_big;
                                      });
      !error.empty()) {
    co_return failed(F::kMalformed, error);
  }
  deadline.disarm();
  if (too_big) {
    co_return fail(F::kOversize, "the answer is larger than " +
                                     std::to_string(options_.max_response_bytes) + " bytes");
  }
  if (status != 200) co_return fail(F::kStatus, issuer_error_text(status, answer));
  co_return accept_issued(answer, key->key_pem, self.value(), wanted.trust_anchors_pem,
                          Clock::now(), options_.max_response_bytes);
}

}  // namespace weft::proxy
