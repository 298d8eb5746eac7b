#pragma once

// A bearer token read from a file and re-read when the file changes: kubelet
// rotates projected service-account tokens in place (hourly by default, the
// old token stays valid a while), so a long-running client must follow it.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>

#include "weft/kube/error.h"

namespace weft::kube {

class TokenFile {
 public:
  // check_interval: how often the file's modification time is looked at;
  // max_age: re-read anyway after this long (an mtime can stay equal across
  // a fast atomic swap of the kubelet's ..data symlink).
  // `what` names the content in errors ("bearer token", "CA bundle"): the
  // in-cluster CA file rotates the same way and is followed the same way.
  explicit TokenFile(std::filesystem::path path,
                     std::chrono::milliseconds check_interval = std::chrono::seconds(1),
                     std::chrono::milliseconds max_age = std::chrono::minutes(1),
                     std::string what = "bearer token");

  // The current token (whitespace trimmed). Thread-safe. Fails if the file
  // cannot be read or is empty and no token was ever read; after a good read,
  // a transient read failure keeps the last token.
  Result<std::string> token();

  // Forces a re-read at the next token() (e.g. after a 401).
  void invalidate();

  const std::filesystem::path& path() const { return path_; }

 private:
  Result<std::string> reload_locked();

  const std::filesystem::path path_;
  const std::chrono::milliseconds check_interval_;
  const std::chrono::milliseconds max_age_;
  const std::string what_;
  std::mutex mutex_;
  std::string token_;
  std::filesystem::file_time_type mtime_{};
  std::chrono::steady_clock::time_point last_check_{};
  std::chrono::steady_clock::time_point last_read_{};
  bool have_token_ = false;
  bool force_ = false;
};

}  // namespace weft::kube
