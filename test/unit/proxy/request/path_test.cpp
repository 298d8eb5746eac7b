// normalize_path (proxy/request/path.h): the path routing and authorization see.

#include "proxy/request/path.h"

#include <catch2/catch.hpp>
#include <string>

using weft::proxy::normalize_path;
using Verdict = weft::proxy::PathNormalization::Verdict;

namespace {

// The normal form of `path`, or "refused: <reason>".
std::string normal(std::string_view path) {
  std::string out;
  const auto result = normalize_path(path, out);
  switch (result.verdict) {
    case Verdict::kUnchanged:
      return std::string(path);
    case Verdict::kNormalized:
      return out;
    case Verdict::kRefused:
      return "refused: " + std::string(result.reason);
  }
  return {};
}

}  // namespace

TEST_CASE("normal paths are left as they are, without a copy", "[path]") {
  for (const char* path :
       {"/", "/a", "/a/b/", "/a.b/c..d/.e", "/a-b_c~d", "*", "http://x/a/../b", "/a/b;c=d"}) {
    INFO(path);
    std::string out = "untouched";
    CHECK(normalize_path(path, out).verdict == Verdict::kUnchanged);
    CHECK(out == "untouched");
  }
}

TEST_CASE("dot segments are removed, never above the root", "[path]") {
  CHECK(normal("/a/./b") == "/a/b");
  CHECK(normal("/a/../b") == "/b");
  CHECK(normal("/a/b/..") == "/a/");
  CHECK(normal("/a/b/.") == "/a/b/");
  CHECK(normal("/..") == "/");
  CHECK(normal("/../../etc/passwd") == "/etc/passwd");
  CHECK(normal("/a/.../b") == "/a/.../b");
  CHECK(normal("/.") == "/");
}

TEST_CASE("runs of slashes are merged", "[path]") {
  CHECK(normal("//a") == "/a");
  CHECK(normal("/a//b///c") == "/a/b/c");
  CHECK(normal("/a//") == "/a/");
  CHECK(normal("//") == "/");
}

TEST_CASE("unreserved characters are percent-decoded, others upper-cased", "[path]") {
  CHECK(normal("/%61%62%63") == "/abc");
  CHECK(normal("/%7Euser") == "/~user");
  CHECK(normal("/a%2D%2e%5F") == "/a-._");
  CHECK(normal("/a%20b") == "/a%20b");
  CHECK(normal("/a%3fb%3F") == "/a%3Fb%3F");
  // A decoded dot segment is a dot segment: decoding comes first.
  CHECK(normal("/a/%2e%2E/b") == "/b");
  CHECK(normal("/a/%2e/b") == "/a/b");
}

TEST_CASE("encoded slashes, backslashes and bad escapes are refused", "[path]") {
  CHECK(normal("/a%2Fb") == "refused: encoded slash in path");
  CHECK(normal("/a%2fb") == "refused: encoded slash in path");
  CHECK(normal("/a%5Cb") == "refused: encoded slash in path");
  CHECK(normal("/a%5cb") == "refused: encoded slash in path");
  CHECK(normal("/a\\b") == "refused: backslash in path");
  CHECK(normal("/a%") == "refused: malformed percent-encoding in path");
  CHECK(normal("/a%4") == "refused: malformed percent-encoding in path");
  CHECK(normal("/a%g1") == "refused: malformed percent-encoding in path");
}

TEST_CASE("bytes that servers read differently are refused, each with its reason", "[path]") {
  CHECK(normal(std::string_view("/a\0b", 4)) == "refused: NUL in path");
  CHECK(normal("/a%00b") == "refused: NUL in path");
  CHECK(normal("/a\tb") == "refused: control character in path");
  CHECK(normal("/a%0Ab") == "refused: control character in path");
  CHECK(normal("/a%7f") == "refused: control character in path");
  CHECK(normal("/a\x7F") == "refused: control character in path");
  CHECK(normal("/a#b") == "refused: fragment '#' in path");
  CHECK(normal("/a/%252F") == "refused: double percent-encoding in path");
  CHECK(normal("/a/%255c") == "refused: double percent-encoding in path");
  CHECK(normal("/a/%2500") == "refused: double percent-encoding in path");
  CHECK(normal("/a/%252e%252e/b") == "refused: double percent-encoding in path");
  CHECK(normal("/a/%25%32%65%25%32%65/b") == "refused: double percent-encoding in path");
  CHECK(normal("/a/100%25") == "/a/100%25");
  CHECK(normal("/a/100%25x") == "/a/100%25x");
  CHECK(normal("/a/..;/b") == "refused: path parameter on a dot segment");
  CHECK(normal("/a/.;x/b") == "refused: path parameter on a dot segment");
  CHECK(normal("/a/%2e%2e;/b") == "refused: path parameter on a dot segment");
  CHECK(normal("/a/%C0%AF") == "refused: invalid UTF-8 in path");
  CHECK(normal("/a/\xC3") == "refused: invalid UTF-8 in path");
  CHECK(normal("/a/%ED%A0%80") == "refused: invalid UTF-8 in path");
  CHECK(normal("/a/%F4%90%80%80") == "refused: invalid UTF-8 in path");
  // Kept: valid UTF-8 (raw or encoded), a '%25' not followed by an escape, ';' on names.
  CHECK(normal("/caf\xC3\xA9") == "/caf\xC3\xA9");
  CHECK(normal("/caf%c3%a9") == "/caf%C3%A9");
  CHECK(normal("/100%25") == "/100%25");
  CHECK(normal("/100%25ab") == "refused: double percent-encoding in path");
  CHECK(normal("/100%25-off") == "/100%25-off");
  CHECK(normal("/a;b/c..;d/...;e") == "/a;b/c..;d/...;e");
  CHECK(normal("/x/a;v=1/../b") == "/x/b");
}
