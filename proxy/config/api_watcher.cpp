#include "proxy/config/api_watcher.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <functional>

#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "weft/backoff.h"
#include "weft/constants.h"
#include "weft/file.h"
#include "weft/kube/watch_event.h"

namespace weft::proxy {
namespace {

using namespace std::chrono_literals;
using Kind = ConfigMapWatchState::Step::Kind;
using TlsStream = asio::ssl::stream<Socket>;

// Connecting, the TLS handshake and the answer's head get this long.
constexpr auto kRequestTimeout = 15s;
// The server ends a watch after its timeoutSeconds and may send bookmarks
// meanwhile; silence this long past that means the connection is dead.
constexpr auto kWatchSilenceMargin = 30s;
// A watch that ends cleanly after this long resumes at once, even without an
// event (bookmarks are best effort); a shorter one waits for the backoff.
constexpr auto kWatchMinimumLength = 1s;
// A ConfigMap holds at most 1 MiB of data; its JSON (escaped) a few times that.
constexpr std::size_t kMaxEventBytes = 8 * 1024 * 1024;
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;

// Reads a body to its end (or until on_data returns false), passing each
// decoded slice on. Returns an error text, or "" on success.
awaitable<std::string> read_body(TlsStream& stream, ReadBuffer& buffer, http1::BodyDecoder& decoder,
                                 const std::function<bool(std::string_view)>& on_data) {
  while (!decoder.done()) {
    while (!buffer.empty() && !decoder.done()) {
      const http1::BodyDecoder::Step step = decoder.decode(buffer.data());
      if (step.error.status != 0) co_return "malformed body: " + std::string(step.error.reason);
      const bool go_on = step.data.empty() || on_data(step.data);
      buffer.consume(step.consumed);
      if (!go_on) co_return std::string();
      if (step.consumed == 0) break;
    }
    if (decoder.done()) break;
    error_code ec;
    const std::size_t n = co_await stream.async_read_some(buffer.prepare(), redirect(ec));
    if (ec && decoder.until_close() &&
        (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
      break;
    }
    if (ec) co_return "reading the body: " + ec.message();
    buffer.commit(n);
  }
  co_return std::string();
}

}  // namespace

Result<std::unique_ptr<ApiWatcher>> ApiWatcher::create(const Settings& settings,
                                                       const EnvLookup& env, ConfigStore& store,
                                                       Logger& log) {
  if (settings.kube_watch == "off") return std::unique_ptr<ApiWatcher>();
  const bool in_cluster = env("KUBERNETES_SERVICE_HOST").has_value();
  if (settings.kube_watch == "auto" && !in_cluster) return std::unique_ptr<ApiWatcher>();
  auto access = in_cluster_access(env, settings.service_account_dir, settings.pod_namespace);
  if (!access.has_value()) {
    if (settings.kube_watch == "on") return Error{"ConfigMap watch: " + access.error().message};
    // A pod without a mounted token (automountServiceAccountToken: false)
    // still works, from the mounted file alone.
    log.warn("no ConfigMap watch: following the mounted file only",
             {{"reason", access.error().message}});
    return std::unique_ptr<ApiWatcher>();
  }
  return std::make_unique<ApiWatcher>(std::move(access.value()), settings.kube_watch_timeout, store,
                                      log);
}

ApiWatcher::ApiWatcher(ApiServerAccess access, std::chrono::seconds watch_timeout,
                       ConfigStore& store, Logger& log)
    : access_(std::move(access)),
      watch_timeout_(watch_timeout),
      store_(store),
      log_(log),
      state_(access_.ns, std::string(kProxyConfigMapName), std::string(kProxyConfigKey),
             watch_timeout) {}

ApiWatcher::~ApiWatcher() {
  // Stopping the context abandons the request in progress; its coroutine is
  // destroyed with the context.
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void ApiWatcher::start() {
  asio::co_spawn(io_, run(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
  log_.info("watching the ConfigMap through the API server",
            {{"namespace", access_.ns},
             {"name", kProxyConfigMapName},
             {"server", api_server_authority(access_)}});
}

awaitable<void> ApiWatcher::run() {
  Backoff backoff;
  Timer timer(io_);
  while (true) {
    const Outcome outcome = co_await request_once();
    store_.set_api_connected(false);
    if (outcome.progressed) backoff.reset();
    if (outcome.error.empty() && outcome.again_now) continue;
    const auto delay = backoff.next();
    if (!outcome.error.empty()) {
      log_.warn("ConfigMap watch failed, retrying",
                {{"error", outcome.error}, {"retry_in_ms", delay.count()}});
    }
    timer.expires_after(delay);
    error_code ignored;
    co_await timer.async_wait(redirect(ignored));
  }
}

bool ApiWatcher::apply(const ConfigMapWatchState::Step& step, Outcome& outcome) {
  switch (step.kind) {
    case Kind::kNothing:
      outcome.progressed = true;
      return true;
    case Kind::kOffer:
      outcome.progressed = true;
      store_.offer(step.text, ConfigSource::kApi);
      return true;
    case Kind::kNoDocument:
      outcome.progressed = true;
      log_.warn("ConfigMap has no document under its key", {{"key", kProxyConfigKey}});
      return true;
    case Kind::kDeleted:
      outcome.progressed = true;
      log_.warn("ConfigMap deleted: the last good configuration keeps serving");
      return true;
    case Kind::kRestart:
      outcome.progressed = true;
      outcome.again_now = true;
      log_.info("ConfigMap watch expired, starting afresh", {{"reason", step.text}});
      return false;
    case Kind::kFail:
      outcome.error = step.text;
      return false;
  }
  return false;
}

awaitable<ApiWatcher::Outcome> ApiWatcher::request_once() {
  Outcome outcome;
  const std::string target = state_.next_target();
  log_.debug("ConfigMap watch request", {{"resource_version", state_.resource_version()}});
  // Read at each connection: the kubelet rotates the token (and may the CA).
  const auto token = read_token(access_.token_path);
  if (!token) co_return Outcome{false, false, "no token in " + access_.token_path};
  const auto ca = read_file(access_.ca_path);
  if (!ca || ca->empty()) co_return Outcome{false, false, "no CA in " + access_.ca_path};

  error_code ec;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  // As client-go: nothing older than TLS 1.2, whatever the library's default.
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  tls.add_certificate_authority(asio::buffer(*ca), ec);
  if (ec) co_return Outcome{false, false, access_.ca_path + ": " + ec.message()};
  tls.set_verify_mode(asio::ssl::verify_peer, ec);
  TlsStream stream(io_, tls);
  // The certificate must name the host we connect to: an IP SAN for the
  // kubelet's KUBERNETES_SERVICE_HOST, a DNS SAN (and SNI) for a name.
  X509_VERIFY_PARAM* verify = SSL_get0_param(stream.native_handle());
  const asio::ip::address address = asio::ip::make_address(access_.host, ec);
  const bool by_address = !ec;
  if (by_address) {
    X509_VERIFY_PARAM_set1_ip_asc(verify, access_.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(verify, access_.host.c_str(), access_.host.size());
    SSL_set_tlsext_host_name(stream.native_handle(), access_.host.c_str());
  }

  Deadline deadline(io_.get_executor());
  deadline.arm(stream.next_layer(), kRequestTimeout);
  if (by_address) {
    // The usual case: no resolver (whose first use starts a thread).
    co_await stream.next_layer().async_connect(tcp::endpoint(address, access_.port), redirect(ec));
  } else {
    tcp::resolver resolver(io_);
    const auto addresses =
        co_await resolver.async_resolve(access_.host, std::to_string(access_.port), redirect(ec));
    if (ec) co_return Outcome{false, false, "resolving " + access_.host + ": " + ec.message()};
    co_await asio::async_connect(stream.next_layer(), addresses, redirect(ec));
  }
  if (ec) co_return Outcome{false, false, "connecting: " + ec.message()};
  co_await stream.async_handshake(asio::ssl::stream_base::client, redirect(ec));
  if (ec) co_return Outcome{false, false, "TLS handshake: " + ec.message()};

  const std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: " + api_server_authority(access_) +
                              "\r\nAuthorization: Bearer " + *token +
                              "\r\nAccept: application/json\r\nUser-Agent: weft-proxy\r\n"
                              "Connection: close\r\n\r\n";
  co_await asio::async_write(stream, asio::buffer(request), redirect(ec));
  if (ec) co_return Outcome{false, false, "sending the request: " + ec.message()};

  ReadBuffer buffer;
  http1::HeadParser parser;
  http1::ResponseHead head;
  std::size_t head_size = 0;
  while (head_size == 0) {
    const http1::ParseResult parsed = parser.parse_response(buffer.data(), "GET", head);
    if (parsed.status == http1::ParseStatus::kError) {
      co_return Outcome{false, false, "malformed answer: " + std::string(parsed.error.reason)};
    }
    if (parsed.status == http1::ParseStatus::kComplete) {
      if (!head.is_interim()) {
        head_size = parsed.consumed;
        break;
      }
      buffer.consume(parsed.consumed);
      parser.reset();
      continue;
    }
    const std::size_t n = co_await stream.async_read_some(buffer.prepare(), redirect(ec));
    if (ec) co_return Outcome{false, false, "reading the answer: " + ec.message()};
    buffer.commit(n);
  }
  const int status = head.status;
  http1::BodyDecoder decoder;
  decoder.reset(head.body, head.content_length);
  buffer.consume(head_size);  // head's views are invalid from here

  if (status != 200) {
    std::string body;
    bool too_big = false;
    const std::string error =
        co_await read_body(stream, buffer, decoder, [&](std::string_view data) {
          too_big = body.size() + data.size() > kMaxErrorBodyBytes;
          if (!too_big) body += data;
          return !too_big;
        });
    if (!error.empty()) co_return Outcome{false, false, error};
    apply(state_.on_http_error(status, too_big ? std::string_view() : body), outcome);
    co_return outcome;
  }

  // The watch stream: one JSON event per line, for as long as it lasts. From
  // here the watch is the authority on which document is newest.
  store_.set_api_connected(true);
  const auto silence_limit = watch_timeout_ + kWatchSilenceMargin;
  const auto watch_started = std::chrono::steady_clock::now();
  deadline.arm(stream.next_layer(), silence_limit);
  kube::WatchStreamParser events(kMaxEventBytes);
  bool stream_ok = true;
  const std::string error = co_await read_body(stream, buffer, decoder, [&](std::string_view data) {
    deadline.arm(stream.next_layer(), silence_limit);
    const auto fed = events.feed(data, [&](kube::WatchEvent&& event) {
      stream_ok = apply(state_.on_event(event), outcome);
      return stream_ok;
    });
    if (!fed.has_value()) {
      outcome.error = "watch stream: " + fed.error().message;
      return false;
    }
    return stream_ok;
  });
  deadline.disarm();
  if (!error.empty() && outcome.error.empty()) outcome.error = error;
  // The server ended the watch (its timeout): resume from the last version at
  // once, unless it ended at once without a word (then the backoff spaces the
  // retries).
  const bool lasted = std::chrono::steady_clock::now() - watch_started >= kWatchMinimumLength;
  if (outcome.error.empty() && (outcome.progressed || lasted)) {
    outcome.progressed = true;
    outcome.again_now = true;
  }
  co_return outcome;
}

}  // namespace weft::proxy
