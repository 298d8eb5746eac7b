#include "weft/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace weft {

Result<std::string> read_file(const std::filesystem::path& path) {
  // stdio rather than ifstream: errno says why, which the message passes on.
  const auto fail = [&path](int error) {
    return Error{"cannot read " + path.string() + ": " + std::strerror(error)};
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return fail(errno);
  std::string content;
  errno = 0;
  char buffer[16 * 1024];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    content.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get())) return fail(errno != 0 ? errno : EIO);
  return content;
}

Result<bool> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   std::filesystem::perms mode) {
  const std::filesystem::path staging = path.string() + ".tmp";
  const auto fail = [&](const std::string& what, int error) {
    ::unlink(staging.c_str());
    return Error{"cannot " + what + " " + staging.string() + ": " + std::strerror(error)};
  };
  // A leftover staging file would keep its own, perhaps wider, mode: start afresh.
  if (::unlink(staging.c_str()) != 0 && errno != ENOENT) return fail("remove", errno);
  const auto bits = static_cast<mode_t>(mode & std::filesystem::perms::mask);
  const int fd = ::open(staging.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, bits);
  if (fd < 0) return fail("create", errno);
  // The umask can only narrow the mode; fchmod sets exactly what was asked.
  int error = ::fchmod(fd, bits) == 0 ? 0 : errno;
  for (std::size_t written = 0; error == 0 && written < content.size();) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n > 0) written += static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) return fail("write", error);
  if (std::rename(staging.c_str(), path.c_str()) != 0) {
    const int rename_error = errno;
    ::unlink(staging.c_str());
    return Error{"cannot replace " + path.string() + ": " + std::strerror(rename_error)};
  }
  return true;
}

}  // namespace weft
