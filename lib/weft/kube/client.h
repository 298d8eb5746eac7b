#pragma once

// A Kubernetes API client over libcurl. Objects are nlohmann::json (parse them
// into typed structs at the edge); every call returns kube::Result with a typed
// ApiError instead of throwing.
//
//   auto config = kube::load_default_config(flags.kubeconfig);
//   auto client = kube::Client::from_config(*config);
//   auto cm = (*client)->get(kube::resources::config_maps(), "shop", "weft-proxy-config");
//   if (cm.is_error(kube::ErrorKind::kNotFound)) ...
//
// Thread-safe: any number of threads may call it at once. Connections are kept
// alive and reused through a pool of libcurl easy handles (one handle is used
// by one thread at a time; libcurl handles are not thread-safe). Every request,
// watches included, first takes a token from the client-side rate limiter.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "weft/kube/config.h"
#include "weft/kube/error.h"
#include "weft/kube/rate_limiter.h"
#include "weft/kube/resource.h"
#include "weft/kube/watch_event.h"

namespace weft::kube {

struct ListOptions {
  std::string label_selector{};  // "app=x,tier!=y"
  std::string field_selector{};  // "metadata.name=x"
  // Page size (`limit`); list() follows `continue` until the last page and
  // returns every item. 0 asks for everything in one response.
  int page_size = 500;
  // "" reads the latest state (a quorum read), "0" any cached state.
  std::string resource_version{};
};

struct ObjectList {
  std::vector<nlohmann::json> items{};
  // The list's resourceVersion: start a watch here to miss nothing.
  std::string resource_version{};
  int pages = 0;
};

struct WriteOptions {
  std::string field_manager{};  // `fieldManager`; "" leaves the server default
  bool dry_run = false;         // `dryRun=All`: validated and admitted, not stored
};

// Server-side apply: the object is sent whole as the fields this manager owns.
struct ApplyOptions {
  std::string field_manager{};  // required
  // Take ownership of fields another manager set (use on objects we own).
  bool force = false;
  bool dry_run = false;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJson,            // application/json-patch+json (RFC 6902); the patch is an array
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  kApply,           // application/apply-patch+yaml; prefer apply()
};

struct DeleteOptions {
  // Preconditions: delete only if the object still has this uid / resourceVersion
  // (a mismatch is kConflict).
  std::string precondition_uid{};
  std::string precondition_resource_version{};
  std::string propagation_policy{};  // "Foreground", "Background", "Orphan" or ""
  std::optional<std::int64_t> grace_period_seconds{};
  bool dry_run = false;
};

struct WatchOptions {
  // Where to start: the resourceVersion of a list (or of the last event seen).
  // "" starts at the current state, with synthetic ADDED events for what exists.
  std::string resource_version{};
  std::string label_selector{};
  std::string field_selector{};
  bool allow_bookmarks = true;
  // Server-side `timeoutSeconds`: the apiserver ends the stream cleanly after it.
  std::chrono::seconds timeout{290};
  // The stream is cut as dead when no byte arrived for this long (the request
  // timeout does not apply to watches). Zero means timeout + 30 s.
  std::chrono::seconds idle_timeout{0};
};

enum class WatchEnd {
  kServerClosed,    // the apiserver ended the stream (timeoutSeconds): watch again from the last
                    // version
  kStopped,         // the stop_token was requested
  kHandlerStopped,  // the handler returned false
};

// A raw HTTP exchange, for APIs without a helper (TokenRequest, TokenReview...).
struct RawRequest {
  std::string method = "GET";
  std::string path{};  // "/api/v1/..." with its query string
  std::string body{};  // sent when not empty
  std::string content_type = "application/json";
  // For an answer that is not the API server's own (a pod's, through the pod
  // proxy): a shorter whole-request timeout, a smaller body cap (a larger
  // answer is an error), and no 429 retry (that 429 is the pod's, not the API
  // server throttling). Zero keeps the client's timeout and 256 MiB cap.
  std::chrono::milliseconds timeout{0};
  std::size_t max_body = 0;
  bool retry_throttled = true;
};

struct RawResponse {
  int status = 0;
  std::string body{};
};

class Client {
 public:
  // Validates the configuration (server URL, certificate/key pairing, readable
  // token file) and sets up TLS material; no request is made.
  static Result<std::shared_ptr<Client>> from_config(ClientConfig config);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientConfig& config() const;

  // For shutdown: every wait of this client (the client-side rate limiter, a
  // 429's Retry-After) ends now and later ones do not start, so a throttled
  // call returns kCancelled at once instead of holding shutdown for up to the
  // throttle cap. Exchanges already on the wire finish (request timeout);
  // watches end as if their stop_token were requested. Irreversible: a
  // process that must still write after it (to release a Lease, say) uses a
  // second client.
  void shutdown();

  // GET one object. A namespaced resource needs ns; a cluster-scoped one takes "".
  Result<nlohmann::json> get(const ResourceType& type, std::string_view ns, std::string_view name);

  // All objects of the collection (ns "" = all namespaces for a namespaced
  // type), page by page. A `continue` token that expires mid-way is kGone:
  // start again.
  Result<ObjectList> list(const ResourceType& type, std::string_view ns,
                          const ListOptions& options = {});

  // POST. Namespace and name come from the object's metadata (generateName
  // works); apiVersion and kind are filled in from `type` when missing.
  // Returns the object as stored.
  Result<nlohmann::json> create(const ResourceType& type, const nlohmann::json& object,
                                const WriteOptions& options = {});

  // PUT the whole object. With metadata.resourceVersion set, the write happens
  // only if the stored object still has that version, else kConflict (re-read
  // and retry: see retry_on_conflict in retry.h).
  Result<nlohmann::json> update(const ResourceType& type, const nlohmann::json& object,
                                const WriteOptions& options = {});
  // PUT to the status subresource: only .status is taken from the object.
  Result<nlohmann::json> update_status(const ResourceType& type, const nlohmann::json& object,
                                       const WriteOptions& options = {});

  // PATCH of an object or of a subresource ("status").
  Result<nlohmann::json> patch(const ResourceType& type, std::string_view ns, std::string_view name,
                               PatchType patch_type, const nlohmann::json& patch,
                               const WriteOptions& options = {}, std::string_view subresource = {});
  Result<nlohmann::json> merge_patch(const ResourceType& type, std::string_view ns,
                                     std::string_view name, const nlohmann::json& patch,
                                     const WriteOptions& options = {});
  Result<nlohmann::json> patch_status(const ResourceType& type, std::string_view ns,
                                      std::string_view name, PatchType patch_type,
                                      const nlohmann::json& patch,
                                      const WriteOptions& options = {});

  // Server-side apply of a partial object (apiVersion, kind, metadata.name and
  // .namespace, and the fields this manager owns). Creates it if missing.
  // Applying the same object twice changes nothing (same resourceVersion).
  Result<nlohmann::json> apply(const ResourceType& type, const nlohmann::json& object,
                               const ApplyOptions& options);
  // Server-side apply to the status subresource.
  Result<nlohmann::json> apply_status(const ResourceType& type, const nlohmann::json& object,
                                      const ApplyOptions& options);

  // DELETE. Returns what the apiserver answered: the object (possibly still
  // present with a deletionTimestamp while finalizers run) or a Status.
  Result<nlohmann::json> remove(const ResourceType& type, std::string_view ns,
                                std::string_view name, const DeleteOptions& options = {});

  // Streams a watch, calling handler for each event as it arrives (on this
  // thread) until the server ends the stream, the handler returns false, or
  // stop is requested: stop wakes the transfer at once, it does not wait for
  // the next byte. ERROR events are delivered to the handler like the others
  // (their object is a Status: see error_from_status). Errors: an HTTP error
  // before the stream starts, a cut connection, the idle timeout, a malformed line.
  Result<WatchEnd> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                         const std::function<bool(WatchEvent&&)>& handler,
                         std::stop_token stop = {});

  // Any request; the body is returned whatever the status (no error mapping
  // for HTTP statuses, only for transport failures).
  Result<RawResponse> raw(const RawRequest& request);
  // Any request, with the usual error mapping; the JSON answer on 2xx.
  Result<nlohmann::json> request(const RawRequest& request);

  // Requests sent (HTTP exchanges attempted) and total time spent waiting for
  // the client-side rate limiter, for metrics.
  std::uint64_t requests_sent() const;
  std::chrono::nanoseconds throttled_time() const;
  // New connections opened (TCP + TLS handshakes); far below requests_sent()
  // when connections are reused.
  std::uint64_t connections_opened() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::kube
