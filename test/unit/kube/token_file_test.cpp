#include "weft/kube/token_file.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

using namespace weft::kube;
using namespace std::chrono_literals;

namespace {
std::filesystem::path temp_file(const char* name) {
  return std::filesystem::temp_directory_path() /
         (std::string("weft-kube-") + name + "-" + std::to_string(::getpid()));
}
void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}
}  // namespace

TEST_CASE("token is read trimmed and re-read when the file changes") {
  auto path = temp_file("token");
  write(path, "  first\n");
  TokenFile token(path, 0ms, 1h);
  REQUIRE(token.token());
  CHECK(*token.token() == "first");

  write(path, "second\n");
  // Make sure the modification time differs even on coarse filesystems.
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + 2s);
  CHECK(*token.token() == "second");
  std::filesystem::remove(path);
}

TEST_CASE("within the check interval the cached token is used; invalidate forces a read") {
  auto path = temp_file("cached");
  write(path, "old");
  TokenFile token(path, 1h, 1h);
  CHECK(*token.token() == "old");
  write(path, "new");
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + 2s);
  CHECK(*token.token() == "old");
  token.invalidate();
  CHECK(*token.token() == "new");
  std::filesystem::remove(path);
}

TEST_CASE("max age re-reads even with an unchanged mtime") {
  auto path = temp_file("aged");
  write(path, "one");
  auto mtime = std::filesystem::last_write_time(path);
  TokenFile token(path, 0ms, 1ms);
  CHECK(*token.token() == "one");
  write(path, "two");
  std::filesystem::last_write_time(path, mtime);
  std::this_thread::sleep_for(5ms);
  CHECK(*token.token() == "two");
  std::filesystem::remove(path);
}

TEST_CASE("a missing or empty file is an error until a token was read, then the last one stays") {
  auto path = temp_file("missing");
  std::filesystem::remove(path);
  TokenFile token(path, 0ms, 0ms);
  auto missing = token.token();
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::kConfig);

  write(path, " \n");
  auto empty = token.token();
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().message, Catch::Contains("is empty"));

  write(path, "good");
  CHECK(*token.token() == "good");
  std::filesystem::remove(path);
  CHECK(*token.token() == "good");  // kubelet swaps files; a moment of absence is not fatal
}
