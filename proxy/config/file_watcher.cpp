#include "proxy/config/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include "weft/file.h"

namespace weft::proxy {

FileWatcher::FileWatcher(std::string path, std::optional<std::string> initial_content,
                         std::function<void(const std::string&)> on_change,
                         std::chrono::milliseconds poll_interval)
    : path_(std::move(path)),
      last_(std::move(initial_content)),
      on_change_(std::move(on_change)),
      poll_interval_(poll_interval),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FileWatcher::~FileWatcher() {
  if (thread_.joinable()) {
    thread_.request_stop();
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void FileWatcher::start() {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void FileWatcher::check() {
  auto content = read_file(path_);
  // A vanished file (ConfigMap deleted) keeps the last document: nothing to offer.
  if (content && last_ != *content) {
    last_ = *content;
    on_change_(*content);
  }
}

void FileWatcher::run(std::stop_token stop) {
  const std::string directory = std::filesystem::path(path_).parent_path().string();
  int inotify_fd = -1;
  while (!stop.stop_requested()) {
    if (inotify_fd < 0) {
      inotify_fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
      if (inotify_fd >= 0 &&
          ::inotify_add_watch(inotify_fd, directory.c_str(),
                              IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE |
                                  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        ::close(inotify_fd);  // the directory does not exist yet: poll until it does
        inotify_fd = -1;
      }
      check();  // whatever happened before the watch was in place
    }
    std::array<pollfd, 2> fds{{{wake_fd_, POLLIN, 0}, {inotify_fd, POLLIN, 0}}};
    const int ready =
        ::poll(fds.data(), inotify_fd >= 0 ? 2 : 1, static_cast<int>(poll_interval_.count()));
    if (stop.stop_requested()) break;
    if (ready > 0 && inotify_fd >= 0 && (fds[1].revents & POLLIN)) {
      std::array<char, 4096> events{};
      bool directory_gone = false;
      ssize_t n = 0;
      while ((n = ::read(inotify_fd, events.data(), events.size())) > 0) {
        for (ssize_t offset = 0; offset < n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(events.data() + offset);
          if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) directory_gone = true;
          offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
      }
      if (directory_gone) {
        ::close(inotify_fd);
        inotify_fd = -1;
        continue;
      }
    }
    check();  // on an event, and at each poll interval as a backstop
  }
  if (inotify_fd >= 0) ::close(inotify_fd);
}

}  // namespace weft::proxy
