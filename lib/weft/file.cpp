#include "weft/file.h"

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

}  // namespace weft
