#include "weft/file.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

// A fresh directory under the system's temporary one, removed at the end.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("weft-file-test-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("read_file returns the bytes, binary and large ones included", "[file]") {
  TempDir dir;
  std::string bytes(100'000, 'x');
  bytes[5] = '\0';
  bytes[99'999] = '\n';
  {
    std::ofstream out(dir.path / "data", std::ios::binary);
    out << bytes;
  }
  const auto read = weft::read_file(dir.path / "data");
  REQUIRE(read);
  CHECK(*read == bytes);

  { std::ofstream empty(dir.path / "empty"); }
  const auto empty = weft::read_file(dir.path / "empty");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("read_file names the path and the reason it failed", "[file]") {
  TempDir dir;
  const auto missing = weft::read_file(dir.path / "absent.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        "cannot read " + (dir.path / "absent.yaml").string() + ": No such file or directory");

  const auto directory = weft::read_file(dir.path);
  REQUIRE_FALSE(directory);
  CHECK(directory.error().message == "cannot read " + dir.path.string() + ": Is a directory");
}
