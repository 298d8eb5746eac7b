// write_file_atomically: private files are private from their first byte.

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "weft/file.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/weft-file-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Restores the umask at the end of the test.
struct Umask {
  mode_t old;
  explicit Umask(mode_t mask) : old(::umask(mask)) {}
  ~Umask() { ::umask(old); }
};

constexpr auto kPrivate = fs::perms::owner_read | fs::perms::owner_write;

}  // namespace

TEST_CASE("a key is written 0600 even with a permissive umask", "[file]") {
  TempDir dir;
  const Umask open_umask(0);
  const auto key = dir.path / "tls.key";
  auto written = weft::write_file_atomically(key, "secret", kPrivate);
  REQUIRE(written);
  CHECK((fs::status(key).permissions() & fs::perms::mask) == kPrivate);
  const auto content = weft::read_file(key);
  REQUIRE(content);
  CHECK(*content == "secret");
}

TEST_CASE("a leftover world-readable staging file does not leak its mode", "[file]") {
  TempDir dir;
  const auto key = dir.path / "tls.key";
  std::ofstream(dir.path / "tls.key.tmp") << "old";
  fs::permissions(dir.path / "tls.key.tmp", fs::perms::all);
  std::ofstream(key) << "previous";
  fs::permissions(key, fs::perms::all);
  auto written = weft::write_file_atomically(key, "new secret", kPrivate);
  REQUIRE(written);
  CHECK((fs::status(key).permissions() & fs::perms::mask) == kPrivate);
  const auto content = weft::read_file(key);
  REQUIRE(content);
  CHECK(*content == "new secret");
  CHECK_FALSE(fs::exists(dir.path / "tls.key.tmp"));
}

TEST_CASE("a write that cannot happen is an error naming the file", "[file]") {
  TempDir dir;
  auto written = weft::write_file_atomically(dir.path / "missing" / "tls.key", "x", kPrivate);
  REQUIRE_FALSE(written);
  CHECK(written.error().message.find("missing/tls.key.tmp") != std::string::npos);
}
