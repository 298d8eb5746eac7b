#pragma once

// Follows the mounted configuration file. The kubelet updates a ConfigMap
// volume atomically: it writes a new timestamped directory and renames the
// `..data` symlink to it, so the file's path never changes but what it
// resolves to does. inotify on the directory sees that rename (and plain
// writes, for files edited in place); a slow poll backs it up, and also finds
// the file when the directory does not exist yet. Runs on its own thread, off
// the data plane.

#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace weft::proxy {

class FileWatcher {
 public:
  // on_change gets the file's content each time it differs from the last read
  // (not for the content it had at start, passed as initial_content).
  FileWatcher(std::string path, std::optional<std::string> initial_content,
              std::function<void(const std::string&)> on_change,
              std::chrono::milliseconds poll_interval = std::chrono::milliseconds(2000));
  ~FileWatcher();  // stops and joins
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  void start();

 private:
  void run(std::stop_token stop);
  void check();

  std::string path_;
  std::optional<std::string> last_;
  std::function<void(const std::string&)> on_change_;
  std::chrono::milliseconds poll_interval_;
  int wake_fd_ = -1;  // eventfd: wakes the thread to stop
  std::jthread thread_;
};

}  // namespace weft::proxy
