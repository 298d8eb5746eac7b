#include "weft/kube/token_file.h"

#include <fmt/format.h>

#include <cctype>

#include "weft/file.h"

namespace weft::kube {

TokenFile::TokenFile(std::filesystem::path path, std::chrono::milliseconds check_interval,
                     std::chrono::milliseconds max_age, std::string what)
    : path_(std::move(path)),
      check_interval_(check_interval),
      max_age_(max_age),
      what_(std::move(what)) {}

void TokenFile::invalidate() {
  std::lock_guard lock(mutex_);
  force_ = true;
}

Result<std::string> TokenFile::token() {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (have_token_ && !force_ && now - last_check_ < check_interval_) return token_;
  last_check_ = now;
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(path_, ec);
  bool changed = ec || mtime != mtime_ || now - last_read_ >= max_age_;
  if (have_token_ && !force_ && !changed) return token_;
  auto reloaded = reload_locked();
  if (!reloaded && have_token_) return token_;  // keep the last good token
  if (reloaded && !ec) mtime_ = mtime;
  return reloaded;
}

Result<std::string> TokenFile::reload_locked() {
  force_ = false;
  last_read_ = std::chrono::steady_clock::now();
  auto content = read_file(path_);
  if (!content) {
    return make_error(ErrorKind::kConfig, "read " + what_,
                      fmt::format("{} file: {}", what_, content.error().message));
  }
  std::string token = std::move(*content);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  std::size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  token.erase(0, start);
  if (token.empty()) {
    return make_error(ErrorKind::kConfig, "read " + what_,
                      fmt::format("{} file {} is empty", what_, path_.string()));
  }
  token_ = token;
  have_token_ = true;
  return token;
}

}  // namespace weft::kube
