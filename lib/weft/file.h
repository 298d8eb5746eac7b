#pragma once

// Reading a whole file (configuration documents, certificates, tokens,
// kubeconfigs, test fixtures): one function so every program reports a missing
// or unreadable file the same way, naming the path and the reason.

#include <filesystem>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft {

// The file's bytes, or an error such as
//   "cannot read /etc/weft/config.yaml: No such file or directory".
Result<std::string> read_file(const std::filesystem::path& path);

// Replaces the file with `content` at once: written to a sibling staging file
// created with `mode` (never wider, whatever the umask or a leftover staging
// file), flushed, then renamed over `path`, so a reader sees the old or the new
// bytes, never half. Private keys go through here with 0600.
Result<bool> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   std::filesystem::perms mode);

}  // namespace weft
