#pragma once

// The manifests of test/unit/weftctl/testdata/inject*, for the inject tests.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace weft::ctl::inject::test {

inline std::string testdata_path(const std::string& name) {
  return std::string(WEFTCTL_TESTDATA) + "/" + name;
}

inline std::string read_testdata(const std::string& name) {
  std::ifstream in(testdata_path(name), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The file names in testdata/inject, sorted.
inline std::vector<std::string> manifest_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(testdata_path("inject"))) {
    names.push_back("inject/" + entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace weft::ctl::inject::test
