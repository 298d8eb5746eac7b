#include "weft/kube/watcher.h"

#include <fmt/format.h>

namespace weft::kube {

std::string_view to_string(WatcherEventType type) {
  switch (type) {
    case WatcherEventType::kRestarted:
      return "Restarted";
    case WatcherEventType::kAdded:
      return "Added";
    case WatcherEventType::kModified:
      return "Modified";
    case WatcherEventType::kDeleted:
      return "Deleted";
  }
  return "Restarted";
}

Watcher::Watcher(std::shared_ptr<Client> client, ResourceType type, WatcherOptions options,
                 std::function<void(WatcherEvent&&)> consumer)
    : client_(std::move(client)),
      type_(std::move(type)),
      options_(std::move(options)),
      consumer_(std::move(consumer)) {}

Watcher::~Watcher() {
  stop();
}

void Watcher::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Watcher::stop() {
  std::jthread thread;
  {
    std::lock_guard lock(mutex_);
    if (thread_.get_id() == std::this_thread::get_id()) {
      // Called from the consumer: the loop ends when it returns; a later
      // stop() or the destructor, on another thread, joins.
      thread_.request_stop();
      return;
    }
    thread = std::move(thread_);
  }
  if (thread.joinable()) {
    thread.request_stop();
    thread.join();
  }
}

bool Watcher::wait_synced(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return synced(); });
  return synced();
}

std::string Watcher::resource_version() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

void Watcher::set_resource_version(std::string version) {
  if (version.empty()) return;
  std::lock_guard lock(mutex_);
  resource_version_ = std::move(version);
}

void Watcher::sleep_for(std::chrono::milliseconds delay, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, stop, delay, [] { return false; });
}

void Watcher::run(std::stop_token stop) {
  Backoff backoff(options_.backoff);
  bool resume = !options_.resume_from.empty();
  if (resume) {
    set_resource_version(options_.resume_from);
    mark_synced();
  }
  while (!stop.stop_requested()) {
    ApiError error;
    std::optional<ApiError> failure;
    if (resume) {
      resume = false;
      failure = watch_until_failure(stop, backoff);
      if (!failure) return;  // stopped
    } else if (!list_and_deliver(stop, error)) {
      failure = std::move(error);
    } else {
      failure = watch_until_failure(stop, backoff);
      if (!failure) return;  // stopped
    }
    if (stop.stop_requested()) return;
    // Every way out of the loop above ends in a fresh list: count it.
    restarts_.fetch_add(1, std::memory_order_relaxed);
    if (options_.on_error) options_.on_error(*failure);
    auto delay = backoff.next();
    // A first 410 only means our version got too old: a new list fixes it at
    // once (as client-go). Repeated failures wait, with jitter.
    if (failure->is(ErrorKind::kGone) && backoff.attempts() == 1) continue;
    sleep_for(delay, stop);
  }
}

bool Watcher::list_and_deliver(std::stop_token stop, ApiError& error) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.page_size = options_.page_size;
  auto list = client_->list(type_, options_.ns, list_options);
  if (!list) {
    error = list.error();
    return false;
  }
  if (stop.stop_requested()) return false;
  set_resource_version(list->resource_version);
  WatcherEvent event;
  event.type = WatcherEventType::kRestarted;
  event.objects = std::move(list->items);
  event.resource_version = list->resource_version;
  consumer_(std::move(event));
  mark_synced();
  return true;
}

void Watcher::mark_synced() {
  {
    std::lock_guard lock(mutex_);
    synced_.store(true, std::memory_order_release);
  }
  changed_.notify_all();
}

std::optional<ApiError> Watcher::watch_until_failure(std::stop_token stop, Backoff& backoff) {
  while (!stop.stop_requested()) {
    WatchOptions watch_options;
    watch_options.resource_version = resource_version();
    watch_options.label_selector = options_.label_selector;
    watch_options.field_selector = options_.field_selector;
    watch_options.allow_bookmarks = true;
    watch_options.timeout = options_.watch_timeout;
    watch_options.idle_timeout = options_.idle_timeout;
    std::optional<ApiError> event_error;
    watches_.fetch_add(1, std::memory_order_relaxed);
    auto end = client_->watch(
        type_, options_.ns, watch_options,
        [&](WatchEvent&& event) {
          if (event.type == WatchEventType::kError) {
            event_error = error_from_status(fmt::format("WATCH {}", type_.plural), event.object);
            return false;
          }
          set_resource_version(object_resource_version(event.object));
          if (event.type == WatchEventType::kBookmark) return true;
          WatcherEvent out;
          out.type = event.type == WatchEventType::kAdded      ? WatcherEventType::kAdded
                     : event.type == WatchEventType::kModified ? WatcherEventType::kModified
                                                               : WatcherEventType::kDeleted;
          out.resource_version = object_resource_version(event.object);
          out.object = std::move(event.object);
          consumer_(std::move(out));
          backoff.reset();
          return !stop.stop_requested();  // the consumer may have called stop()
        },
        stop);
    if (event_error) return event_error;
    if (!end) return end.error();
    if (*end == WatchEnd::kStopped) return std::nullopt;
    backoff.reset();  // a clean end: resume from the last version seen
  }
  return std::nullopt;
}

}  // namespace weft::kube
