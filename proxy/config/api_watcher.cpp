#include "proxy/config/api_watcher.h"

#include "proxy/core/deadline.h"
#include "proxy/core/tls_client.h"
#include "weft/backoff.h"
#include "weft/constants.h"
#include "weft/file.h"
#include "weft/kube/watch_event.h"

namespace weft::proxy {
namespace {

using namespace std::chrono_literals;
using Kind = ConfigMapWatchState::Step::Kind;

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

  asio::ssl::context tls(asio::ssl::context::tls_client);
  // As client-go: nothing older than TLS 1.2, whatever the library's default.
  if (auto error = configure_client_tls(tls, *ca); !error.empty()) {
    co_return Outcome{false, false, access_.ca_path + ": " + error};
  }
  TlsStream stream(io_, tls);
  Deadline deadline(io_.get_executor());
  deadline.arm(stream.next_layer(), kRequestTimeout);
  // The certificate must name the host we connect to: an IP SAN for the
  // kubelet's KUBERNETES_SERVICE_HOST, a DNS SAN (and SNI) for a name.
  if (auto error = co_await connect_tls(stream, access_.host, access_.port, access_.host);
      !error.empty()) {
    co_return Outcome{false, false, error};
  }

  const std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: " + api_server_authority(access_) +
                              "\r\nAuthorization: Bearer " + *token +
                              "\r\nAccept: application/json\r\nUser-Agent: weft-proxy\r\n"
                              "Connection: close\r\n\r\n";
  error_code ec;
  co_await asio::async_write(stream, asio::buffer(request), redirect(ec));
  if (ec) co_return Outcome{false, false, "sending the request: " + ec.message()};

  ReadBuffer buffer;
  http1::ResponseHead head;
  std::size_t head_size = 0;
  if (auto error = co_await read_response_head(stream, buffer, "GET", head, head_size);
      !error.empty()) {
    co_return Outcome{false, false, error};
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
