#include "weft/kube/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "weft/kube/token_file.h"

namespace weft::kube {

namespace {

constexpr std::size_t kMaxIdleHandles = 16;
// 429 answers are retried this many times, waiting what the server asks
// (capped): the request was not processed, so any verb is safe to repeat.
constexpr int kMaxThrottleRetries = 3;
constexpr std::chrono::seconds kMaxThrottleWait{10};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string dump(const nlohmann::json& value) {
  // Replace invalid UTF-8 rather than throw: strings may come from anywhere.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view content_type_of(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

// "GET /api/v1/..." without the query string, for error messages.
std::string describe(std::string_view method, std::string_view path) {
  return fmt::format("{} {}", method, path.substr(0, path.find('?')));
}

// Everything one exchange collects from libcurl callbacks.
struct Exchange {
  std::string body;
  // A bounded body: a non-200 watch answer is a Status, a normal answer an object or list.
  std::size_t max_body = 256u * 1024 * 1024;
  bool body_too_large = false;
  std::optional<std::chrono::seconds> retry_after;
  // Watch streams only: events are parsed as they arrive.
  WatchStreamParser* parser = nullptr;
  const std::function<bool(WatchEvent&&)>* handler = nullptr;
  CURL* handle = nullptr;
  std::optional<ApiError> stream_error;  // a malformed line
  bool handler_stopped = false;
  std::exception_ptr handler_exception;
  std::chrono::steady_clock::time_point last_data = std::chrono::steady_clock::now();
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  size_t bytes = size * count;
  exchange.last_data = std::chrono::steady_clock::now();
  long status = 0;
  if (exchange.parser != nullptr) {
    curl_easy_getinfo(exchange.handle, CURLINFO_RESPONSE_CODE, &status);
  }
  if (exchange.parser == nullptr || status != 200) {
    if (exchange.body.size() + bytes > exchange.max_body) {
      exchange.body_too_large = true;
      return 0;
    }
    exchange.body.append(data, bytes);
    return bytes;
  }
  try {
    auto delivered = exchange.parser->feed(std::string_view(data, bytes), *exchange.handler);
    if (!delivered) {
      exchange.stream_error = delivered.error();
      return 0;  // aborts the transfer
    }
  } catch (...) {
    // An exception must not unwind through libcurl's C frames: carry it out.
    exchange.handler_exception = std::current_exception();
    return 0;
  }
  if (exchange.parser->stopped()) {
    exchange.handler_stopped = true;
    return 0;
  }
  return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    bool match = true;
    for (size_t i = 0; i < kRetryAfter.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kRetryAfter[i];
    }
    if (match) {
      long long seconds = 0;
      bool digits = false;
      for (char c : line.substr(kRetryAfter.size())) {
        if (c >= '0' && c <= '9' && seconds < 100000) {
          seconds = seconds * 10 + (c - '0');
          digits = true;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          digits = false;  // an HTTP date: ignored
          break;
        }
      }
      if (digits) exchange.retry_after = std::chrono::seconds(seconds);
    }
  }
  return size * count;
}

ApiError transport_error(std::string what, CURLcode code, const char* detail_buffer) {
  std::string detail = detail_buffer[0] != '\0' ? detail_buffer : curl_easy_strerror(code);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  ErrorKind kind = code == CURLE_OPERATION_TIMEDOUT ? ErrorKind::kTimeout : ErrorKind::kTransport;
  return make_error(kind, std::move(what), std::move(detail));
}

// The apiserver's answer to a write that may carry no useful body (DELETE of a
// collection member answers the object or a Status; both are JSON).
Result<nlohmann::json> parse_json_body(const std::string& what, const std::string& body) {
  if (body.empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return make_error(ErrorKind::kDecode, what, "the answer is not valid JSON");
  }
  return parsed;
}

// Where requests go. Normally the configured server URL; with a TLS server
// name, the URL names that host (so TLS checks the certificate and sends SNI
// for it) while libcurl connects to the configured host (CURLOPT_CONNECT_TO).
struct Endpoint {
  std::string base_url;
  std::string connect_to;  // "" or "name:port:host:port"
};

Result<Endpoint> endpoint_for(const ClientConfig& config) {
  auto bad = [](std::string detail) {
    return make_error(ErrorKind::kConfig, "create API client", std::move(detail));
  };
  if (config.tls_server_name.empty()) return Endpoint{config.server, {}};
  if (config.tls_server_name.find_first_of(":/[]@?# ") != std::string::npos) {
    return bad(fmt::format("tls-server-name \"{}\" is not a host name", config.tls_server_name));
  }
  auto scheme_end = config.server.find("://");
  std::string scheme = config.server.substr(0, scheme_end);
  std::string rest = config.server.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  std::string host = authority;
  std::string port = scheme == "https" ? "443" : "80";
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    return bad(fmt::format("server \"{}\" has no host or port", config.server));
  }
  return Endpoint{fmt::format("{}://{}:{}{}", scheme, config.tls_server_name, port, prefix),
                  fmt::format("{}:{}:{}:{}", config.tls_server_name, port, host, port)};
}

}  // namespace

struct Client::Impl {
  ClientConfig config;
  Endpoint endpoint;
  curl_slist* connect_to = nullptr;
  std::unique_ptr<TokenFile> token_file;
  std::unique_ptr<TokenFile> ca_file;  // the same re-reading, for a rotating CA bundle
  TokenBucket limiter;
  std::mutex pool_mutex;
  std::vector<CURL*> idle;
  std::atomic<std::uint64_t> requests_sent{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::int64_t> throttled_ns{0};
  std::stop_source shutdown;  // Client::shutdown()

  // libcurl honours https_proxy/no_proxy from the environment, as client-go
  // does; like Go's http.ProxyFromEnvironment, loopback never goes through a proxy.
  std::string no_proxy;

  Impl(ClientConfig c, Endpoint e)
      : config(std::move(c)), endpoint(std::move(e)), limiter(config.qps, config.burst) {
    no_proxy = "localhost,127.0.0.1,::1";
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
        no_proxy += std::string(",") + value;
        break;
      }
    }
    if (!config.token_file.empty()) token_file = std::make_unique<TokenFile>(config.token_file);
    if (!config.ca_file.empty()) {
      ca_file = std::make_unique<TokenFile>(config.ca_file, std::chrono::seconds(1),
                                            std::chrono::minutes(1), "CA bundle");
    }
    if (!endpoint.connect_to.empty()) {
      connect_to = curl_slist_append(nullptr, endpoint.connect_to.c_str());
    }
  }

  ~Impl() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
    curl_slist_free_all(connect_to);
  }

  // A handle for this thread's exclusive use; idle handles keep their open
  // connections, so taking one back reuses a connection.
  CURL* acquire_handle() {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void release_handle(CURL* handle) {
    if (handle == nullptr) return;
    // The buffers and lists these point at lived on the caller's stack; an idle
    // handle (cleaned up later, closing its connections) must not reach them.
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, nullptr);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, nullptr);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, nullptr);
    std::lock_guard lock(pool_mutex);
    if (idle.size() < kMaxIdleHandles) {
      idle.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
  }

  void count_connections(CURL* handle) {
    long opened = 0;
    curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &opened);
    if (opened > 0) connections_opened.fetch_add(opened, std::memory_order_relaxed);
  }

  // Waits `wait`, unless the client is shut down or `also` is requested
  // first; true when the whole wait ran out.
  bool sleep(std::chrono::steady_clock::duration wait, std::stop_token also = {}) {
    std::stop_source either;
    const auto wake = [&either] { either.request_stop(); };
    std::stop_callback on_shutdown(shutdown.get_token(), wake);
    std::stop_callback on_stop(also, wake);
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    return !woken.wait_for(lock, either.get_token(), wait, [] { return false; });
  }

  // Takes a token from the client-side rate limiter; false when the client
  // was shut down or `stop` requested, before or while waiting.
  bool throttle(std::stop_token stop) {
    if (shutdown.stop_requested() || stop.stop_requested()) return false;
    auto start = std::chrono::steady_clock::now();
    const auto wait = limiter.reserve();
    const bool go = wait <= std::chrono::steady_clock::duration::zero() || sleep(wait, stop);
    throttled_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count(),
                           std::memory_order_relaxed);
    return go;
  }

  static ApiError cancelled(std::string what) {
    return make_error(ErrorKind::kCancelled, std::move(what), "the client is shutting down");
  }

  // Sets every option of one exchange on a reset handle. Returns the header
  // list, which must live until the transfer ends.
  Result<curl_slist*> prepare(CURL* handle, const RawRequest& request, Exchange& exchange,
                              char* error_buffer, bool streaming) {
    curl_easy_reset(handle);
    std::string url = endpoint.base_url + request.path;
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    if (connect_to != nullptr) curl_easy_setopt(handle, CURLOPT_CONNECT_TO, connect_to);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(config.connect_timeout.count()));
    if (!streaming) {
      const auto timeout = request.timeout.count() > 0 ? request.timeout : config.request_timeout;
      curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    }
    if (request.max_body > 0) exchange.max_body = request.max_body;
    curl_easy_setopt(handle, CURLOPT_USERAGENT, config.user_agent.c_str());
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(handle, CURLOPT_NOPROXY, no_proxy.c_str());

    // As client-go: nothing older than TLS 1.2, whatever the library's default.
    curl_easy_setopt(handle, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (config.insecure_skip_tls_verify) {
      curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ca_file) {
      auto ca = ca_file->token();
      if (!ca) return ca.error();
      // Copied: the text is this call's, the transfer outlives it.
      curl_blob blob{ca->data(), ca->size(), CURL_BLOB_COPY};
      curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &blob);
    } else if (!config.ca_pem.empty()) {
      curl_blob blob{config.ca_pem.data(), config.ca_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!config.client_cert_pem.empty()) {
      curl_blob cert{config.client_cert_pem.data(), config.client_cert_pem.size(),
                     CURL_BLOB_NOCOPY};
      curl_blob key{config.client_key_pem.data(), config.client_key_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(handle, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(handle, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(handle, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(handle, CURLOPT_SSLKEY_BLOB, &key);
    }

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Accept: application/json");
    std::string token = config.bearer_token;
    if (token_file) {
      auto current = token_file->token();
      if (!current) return current.error();
      token = *current;
    }
    if (!token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    }
    if (request.method == "GET") {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty()) {
      headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    return headers;
  }

  // One HTTP exchange (no retries). Transport failures are errors; any HTTP
  // status is a response.
  Result<RawResponse> exchange_once(const RawRequest& request,
                                    std::optional<std::chrono::seconds>* retry_after,
                                    bool* verify_failed = nullptr) {
    std::string what = describe(request.method, request.path);
    if (!throttle({})) return cancelled(what);
    CURL* handle = acquire_handle();
    if (handle == nullptr) return make_error(ErrorKind::kTransport, what, "curl_easy_init failed");
    Exchange exchange;
    char error_buffer[CURL_ERROR_SIZE] = {0};
    auto headers = prepare(handle, request, exchange, error_buffer, /*streaming=*/false);
    if (!headers) {
      release_handle(handle);
      return make_error(headers.error().kind, what, headers.error().detail);
    }
    requests_sent.fetch_add(1, std::memory_order_relaxed);
    CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    count_connections(handle);
    curl_slist_free_all(*headers);
    release_handle(handle);
    if (code != CURLE_OK && exchange.body_too_large) {
      return make_error(ErrorKind::kTransport, what,
                        fmt::format("the answer is larger than {} bytes", exchange.max_body));
    }
    if (code != CURLE_OK) {
      const bool reread = note_transport_failure(code);
      if (verify_failed != nullptr) *verify_failed = reread;
      return transport_error(what, code, error_buffer);
    }
    if (retry_after != nullptr) *retry_after = exchange.retry_after;
    return RawResponse{static_cast<int>(status), std::move(exchange.body)};
  }

  // A server certificate that fails verification may be signed by a CA the
  // file has just been given: read it again before the next connection.
  // Returns whether the CA was re-read.
  bool note_transport_failure(CURLcode code) {
    if (code != CURLE_PEER_FAILED_VERIFICATION || !ca_file) return false;
    ca_file->invalidate();
    return true;
  }

  // An exchange with the retries that are always safe: after 401 with a token
  // file (the token may just have rotated) once, after a failed server
  // verification with a CA file (the CA may just have rotated) once, and after
  // 429 a few times.
  Result<RawResponse> exchange(const RawRequest& request) {
    bool reread_token = token_file != nullptr;
    bool reread_ca = ca_file != nullptr;
    for (int throttled = 0;;) {
      std::optional<std::chrono::seconds> retry_after;
      bool verify_failed = false;
      auto response = exchange_once(request, &retry_after, &verify_failed);
      if (!response && verify_failed && reread_ca) {
        reread_ca = false;
        continue;
      }
      if (!response) return response;
      if (response->status == 401 && reread_token) {
        reread_token = false;
        token_file->invalidate();
        continue;
      }
      if (response->status == 429 && request.retry_throttled && throttled < kMaxThrottleRetries) {
        ++throttled;
        auto wait = std::min(retry_after.value_or(std::chrono::seconds(1)), kMaxThrottleWait);
        if (!sleep(wait)) return cancelled(describe(request.method, request.path));
        continue;
      }
      return response;
    }
  }

  Result<nlohmann::json> call(const RawRequest& request) {
    auto response = exchange(request);
    if (!response) return response.error();
    std::string what = describe(request.method, request.path);
    if (response->status < 200 || response->status > 299) {
      return error_from_response(what, response->status, response->body);
    }
    return parse_json_body(what, response->body);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::shared_ptr<Client>> Client::from_config(ClientConfig config) {
  auto bad = [](std::string detail) {
    return make_error(ErrorKind::kConfig, "create API client", std::move(detail));
  };
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return bad(fmt::format("server \"{}\" is not an http(s) URL", config.server));
  }
  while (config.server.back() == '/') config.server.pop_back();
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return bad("a client certificate needs its key and a key its certificate");
  }
  auto endpoint = endpoint_for(config);
  if (!endpoint) return endpoint.error();
  global_init();
  auto impl = std::make_unique<Impl>(std::move(config), std::move(*endpoint));
  if (impl->token_file) {
    auto token = impl->token_file->token();
    if (!token) return bad(token.error().detail);
  }
  if (impl->ca_file) {
    auto ca = impl->ca_file->token();
    if (!ca) return bad(ca.error().detail);
  }
  return std::shared_ptr<Client>(new Client(std::move(impl)));
}

const ClientConfig& Client::config() const {
  return impl_->config;
}

void Client::shutdown() {
  impl_->shutdown.request_stop();
}

std::uint64_t Client::requests_sent() const {
  return impl_->requests_sent.load(std::memory_order_relaxed);
}

std::uint64_t Client::connections_opened() const {
  return impl_->connections_opened.load(std::memory_order_relaxed);
}

std::chrono::nanoseconds Client::throttled_time() const {
  return std::chrono::nanoseconds(impl_->throttled_ns.load(std::memory_order_relaxed));
}

Result<RawResponse> Client::raw(const RawRequest& request) {
  return impl_->exchange(request);
}

Result<nlohmann::json> Client::request(const RawRequest& request) {
  return impl_->call(request);
}

Result<nlohmann::json> Client::get(const ResourceType& type, std::string_view ns,
                                   std::string_view name) {
  auto path = object_path(type, ns, name);
  if (!path) return path.error();
  return impl_->call({"GET", *path, {}, {}});
}

Result<ObjectList> Client::list(const ResourceType& type, std::string_view ns,
                                const ListOptions& options) {
  auto path = collection_path(type, ns);
  if (!path) return path.error();
  ObjectList out;
  std::string continue_token;
  std::unordered_set<std::string> seen_uids;
  do {
    std::vector<std::pair<std::string, std::string>> query;
    if (!options.label_selector.empty())
      query.emplace_back("labelSelector", options.label_selector);
    if (!options.field_selector.empty())
      query.emplace_back("fieldSelector", options.field_selector);
    if (options.page_size > 0) query.emplace_back("limit", std::to_string(options.page_size));
    if (!continue_token.empty()) {
      query.emplace_back("continue", continue_token);
    } else if (!options.resource_version.empty()) {
      // resourceVersion may not be combined with continue.
      query.emplace_back("resourceVersion", options.resource_version);
    }
    auto page = impl_->call({"GET", *path + query_string(query), {}, {}});
    if (!page) return page.error();
    ++out.pages;
    std::string what = describe("GET", *path);
    auto items = page->find("items");
    if (!page->is_object() || items == page->end() || !(items->is_array() || items->is_null())) {
      return make_error(ErrorKind::kDecode, what, "the answer is not a list");
    }
    if (items->is_array()) {
      for (auto& item : *items) {
        // kube-apiserver 1.34 repeats the first page when a cluster-wide list
        // has a metadata.namespace field selector (its first continue token is
        // relative to the namespace). An object appears once per list, whatever.
        std::string uid;
        if (auto metadata = item.find("metadata");
            metadata != item.end() && metadata->is_object()) {
          uid = metadata->value("uid", "");
        }
        if (!uid.empty() && !seen_uids.insert(uid).second) continue;
        out.items.push_back(std::move(item));
      }
    }
    const auto& metadata = (*page)["metadata"];
    continue_token.clear();
    if (metadata.is_object()) {
      out.resource_version = metadata.value("resourceVersion", out.resource_version);
      continue_token = metadata.value("continue", "");
    }
  } while (!continue_token.empty());
  return out;
}

namespace {

// The namespace an object is written to, checked against the resource's scope.
Result<std::string> namespace_for_write(const ResourceType& type, const nlohmann::json& object,
                                        std::string_view verb) {
  if (!object.is_object()) {
    return make_error(ErrorKind::kBadRequest, fmt::format("{} {}", verb, type.plural),
                      "the object is not a JSON object");
  }
  std::string ns = object_namespace(object);
  if (type.namespaced && ns.empty()) {
    return make_error(ErrorKind::kBadRequest, fmt::format("{} {}", verb, type.plural),
                      "metadata.namespace is required for a namespaced resource");
  }
  return type.namespaced ? ns : std::string();
}

// apiVersion and kind filled in when missing, so callers may leave them out.
nlohmann::json with_type_meta(const ResourceType& type, const nlohmann::json& object) {
  nlohmann::json out = object;
  if (!out.contains("apiVersion")) out["apiVersion"] = type.api_version();
  if (!out.contains("kind")) out["kind"] = type.kind;
  return out;
}

std::vector<std::pair<std::string, std::string>> write_query(const WriteOptions& options) {
  std::vector<std::pair<std::string, std::string>> query;
  if (!options.field_manager.empty()) query.emplace_back("fieldManager", options.field_manager);
  if (options.dry_run) query.emplace_back("dryRun", "All");
  return query;
}

}  // namespace

Result<nlohmann::json> Client::create(const ResourceType& type, const nlohmann::json& object,
                                      const WriteOptions& options) {
  auto ns = namespace_for_write(type, object, "create");
  if (!ns) return ns.error();
  auto path = collection_path(type, *ns);
  if (!path) return path.error();
  return impl_->call({"POST", *path + query_string(write_query(options)),
                      dump(with_type_meta(type, object)), "application/json"});
}

namespace {
Result<nlohmann::json> put(Client& client, const ResourceType& type, const nlohmann::json& object,
                           const WriteOptions& options, std::string_view subresource) {
  auto ns = namespace_for_write(type, object, "update");
  if (!ns) return ns.error();
  auto path = object_path(type, *ns, object_name(object), subresource);
  if (!path) return path.error();
  return client.request({"PUT", *path + query_string(write_query(options)),
                         dump(with_type_meta(type, object)), "application/json"});
}
}  // namespace

Result<nlohmann::json> Client::update(const ResourceType& type, const nlohmann::json& object,
                                      const WriteOptions& options) {
  return put(*this, type, object, options, {});
}

Result<nlohmann::json> Client::update_status(const ResourceType& type, const nlohmann::json& object,
                                             const WriteOptions& options) {
  return put(*this, type, object, options, "status");
}

Result<nlohmann::json> Client::patch(const ResourceType& type, std::string_view ns,
                                     std::string_view name, PatchType patch_type,
                                     const nlohmann::json& patch, const WriteOptions& options,
                                     std::string_view subresource) {
  auto path = object_path(type, ns, name, subresource);
  if (!path) return path.error();
  return impl_->call({"PATCH", *path + query_string(write_query(options)), dump(patch),
                      std::string(content_type_of(patch_type))});
}

Result<nlohmann::json> Client::merge_patch(const ResourceType& type, std::string_view ns,
                                           std::string_view name, const nlohmann::json& patch,
                                           const WriteOptions& options) {
  return this->patch(type, ns, name, PatchType::kMerge, patch, options);
}

Result<nlohmann::json> Client::patch_status(const ResourceType& type, std::string_view ns,
                                            std::string_view name, PatchType patch_type,
                                            const nlohmann::json& patch,
                                            const WriteOptions& options) {
  return this->patch(type, ns, name, patch_type, patch, options, "status");
}

namespace {
Result<nlohmann::json> apply_to(Client& client, const ResourceType& type,
                                const nlohmann::json& object, const ApplyOptions& options,
                                std::string_view subresource) {
  if (options.field_manager.empty()) {
    return make_error(ErrorKind::kBadRequest, fmt::format("apply {}", type.plural),
                      "server-side apply needs a field manager");
  }
  auto ns = namespace_for_write(type, object, "apply");
  if (!ns) return ns.error();
  std::vector<std::pair<std::string, std::string>> query{{"fieldManager", options.field_manager}};
  if (options.force) query.emplace_back("force", "true");
  if (options.dry_run) query.emplace_back("dryRun", "All");
  auto path = object_path(type, *ns, object_name(object), subresource);
  if (!path) return path.error();
  // JSON is YAML, so the apply body is sent as JSON under the apply content type.
  return client.request({"PATCH", *path + query_string(query), dump(with_type_meta(type, object)),
                         std::string(content_type_of(PatchType::kApply))});
}
}  // namespace

Result<nlohmann::json> Client::apply(const ResourceType& type, const nlohmann::json& object,
                                     const ApplyOptions& options) {
  return apply_to(*this, type, object, options, {});
}

Result<nlohmann::json> Client::apply_status(const ResourceType& type, const nlohmann::json& object,
                                            const ApplyOptions& options) {
  return apply_to(*this, type, object, options, "status");
}

Result<nlohmann::json> Client::remove(const ResourceType& type, std::string_view ns,
                                      std::string_view name, const DeleteOptions& options) {
  auto path = object_path(type, ns, name);
  if (!path) return path.error();
  nlohmann::json body = nlohmann::json::object();
  nlohmann::json preconditions = nlohmann::json::object();
  if (!options.precondition_uid.empty()) preconditions["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    preconditions["resourceVersion"] = options.precondition_resource_version;
  }
  if (!preconditions.empty()) body["preconditions"] = preconditions;
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  std::string payload;
  if (!body.empty()) {
    body["apiVersion"] = "v1";
    body["kind"] = "DeleteOptions";
    payload = dump(body);
  }
  std::string query = options.dry_run ? "?dryRun=All" : "";
  return impl_->call({"DELETE", *path + query, payload, "application/json"});
}

Result<WatchEnd> Client::watch(const ResourceType& type, std::string_view ns,
                               const WatchOptions& options,
                               const std::function<bool(WatchEvent&&)>& handler,
                               std::stop_token stop) {
  auto collection = collection_path(type, ns);
  if (!collection) return collection.error();
  std::vector<std::pair<std::string, std::string>> query{{"watch", "1"}};
  if (!options.resource_version.empty()) {
    query.emplace_back("resourceVersion", options.resource_version);
  }
  if (options.allow_bookmarks) query.emplace_back("allowWatchBookmarks", "true");
  if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);
  if (options.timeout.count() > 0) {
    query.emplace_back("timeoutSeconds", std::to_string(options.timeout.count()));
  }
  const RawRequest request{"GET", *collection + query_string(query), {}, {}};
  const std::string what = describe("WATCH", *collection);
  const auto idle_timeout = options.idle_timeout.count() > 0
                                ? std::chrono::seconds(options.idle_timeout)
                                : options.timeout + std::chrono::seconds(30);

  if (!impl_->throttle(stop)) return WatchEnd::kStopped;
  CURL* handle = impl_->acquire_handle();
  CURLM* multi = curl_multi_init();
  if (handle == nullptr || multi == nullptr) {
    if (multi != nullptr) curl_multi_cleanup(multi);
    impl_->release_handle(handle);
    return make_error(ErrorKind::kTransport, what, "libcurl initialisation failed");
  }
  WatchStreamParser parser;
  Exchange exchange;
  exchange.parser = &parser;
  exchange.handler = &handler;
  exchange.handle = handle;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto headers = impl_->prepare(handle, request, exchange, error_buffer, /*streaming=*/true);
  if (!headers) {
    curl_multi_cleanup(multi);
    impl_->release_handle(handle);
    return make_error(headers.error().kind, what, headers.error().detail);
  }
  impl_->requests_sent.fetch_add(1, std::memory_order_relaxed);
  curl_multi_add_handle(multi, handle);

  bool stopped = false;
  bool idle_expired = false;
  CURLcode code = CURLE_OK;
  {
    // Wakes curl_multi_poll at once from whichever thread requests the stop
    // or shuts the client down.
    std::stop_callback wake(stop, [multi] { curl_multi_wakeup(multi); });
    std::stop_callback wake_on_shutdown(impl_->shutdown.get_token(),
                                        [multi] { curl_multi_wakeup(multi); });
    int running = 1;
    while (true) {
      if (stop.stop_requested() || impl_->shutdown.stop_requested()) {
        stopped = true;
        break;
      }
      curl_multi_perform(multi, &running);
      if (running == 0) break;
      if (std::chrono::steady_clock::now() - exchange.last_data > idle_timeout) {
        idle_expired = true;
        break;
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE) code = message->data.result;
    }
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  impl_->count_connections(handle);
  curl_multi_remove_handle(multi, handle);
  curl_multi_cleanup(multi);
  curl_slist_free_all(*headers);
  // A handle whose transfer was cut mid-stream closes that connection on the
  // next reset; the handle itself is fine to reuse.
  impl_->release_handle(handle);

  if (exchange.handler_exception) std::rethrow_exception(exchange.handler_exception);
  if (stopped) return WatchEnd::kStopped;
  if (exchange.handler_stopped) return WatchEnd::kHandlerStopped;
  if (exchange.stream_error) {
    ApiError error = *exchange.stream_error;
    return make_error(error.kind, what, error.detail);
  }
  if (idle_expired) {
    return make_error(
        ErrorKind::kTimeout, what,
        fmt::format("no data for {} s; the stream is taken as dead", idle_timeout.count()));
  }
  if (code != CURLE_OK) {
    impl_->note_transport_failure(code);  // the watch's next connection re-reads the CA
    return transport_error(what, code, error_buffer);
  }
  if (status != 200) return error_from_response(what, static_cast<int>(status), exchange.body);
  if (parser.pending_bytes() > 0) {
    return make_error(ErrorKind::kTransport, what, "the stream ended inside an event");
  }
  return WatchEnd::kServerClosed;
}

}  // namespace weft::kube
