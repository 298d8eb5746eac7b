#pragma once

// Reading a whole file (configuration documents, certificates, tokens,
// kubeconfigs, test fixtures): one function so every program reports a missing
// or unreadable file the same way, naming the path and the reason.

#include <filesystem>
#include <string>

#include "weft/result.h"

namespace weft {

// The file's bytes, or an error such as
//   "cannot read /etc/weft/config.yaml: No such file or directory".
Result<std::string> read_file(const std::filesystem::path& path);

}  // namespace weft
