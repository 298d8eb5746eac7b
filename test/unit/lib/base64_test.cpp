#include "weft/base64.h"

#include <catch2/catch.hpp>
#include <string>

using weft::base64_decode;
using weft::base64_encode;

TEST_CASE("base64 encodes RFC 4648's test vectors", "[base64]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  std::string out = "patch:";
  weft::base64_append(out, "foob");
  CHECK(out == "patch:Zm9vYg==");
}

TEST_CASE("base64 round-trips every byte value and length", "[base64]") {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n <= bytes.size(); n += 7) {
    const std::string part = bytes.substr(0, n);
    const auto decoded = base64_decode(base64_encode(part));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == part);  // padding is not counted as data bytes
  }
  CHECK(base64_decode("Zg==") == std::string("f"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("AA==") == std::string(1, '\0'));  // a real zero byte, kept
}

// The two decoders this replaces disagreed on these; the rule now is Go's
// base64.StdEncoding (what wrote the Kubernetes data we read).
TEST_CASE("base64 decoding follows Go's StdEncoding on the disputed cases", "[base64]") {
  // Missing padding: the kubeconfig decoder took it, the webhook's refused it.
  CHECK_FALSE(base64_decode("Zg"));
  CHECK_FALSE(base64_decode("Zm8"));
  // Line breaks (wrapped PEM-like data): the kubeconfig decoder skipped them,
  // the webhook's refused them. Go skips '\r' and '\n'.
  CHECK(base64_decode("Zm9v\nYmFy") == std::string("foobar"));
  CHECK(base64_decode("Zm9v\r\nYmFy\n") == std::string("foobar"));
  // Other white space: the kubeconfig decoder skipped it; Go refuses it.
  CHECK_FALSE(base64_decode("Zm9v YmFy"));
  CHECK_FALSE(base64_decode("Zm9v\tYmFy"));
  CHECK_FALSE(base64_decode(" Zm9v"));
}

TEST_CASE("base64 refuses malformed text", "[base64]") {
  CHECK(base64_decode("") == std::string());
  CHECK_FALSE(base64_decode("Zg="));       // length not a multiple of 4
  CHECK_FALSE(base64_decode("Z==="));      // three padding characters
  CHECK_FALSE(base64_decode("===="));      // padding only
  CHECK_FALSE(base64_decode("Zg=a"));      // data after padding
  CHECK_FALSE(base64_decode("Zg==Zm9v"));  // padding in the middle
  CHECK_FALSE(base64_decode("=Zm9"));      // padding first
  CHECK_FALSE(base64_decode("Zm9v!A=="));  // outside the alphabet
  CHECK_FALSE(base64_decode("Zm9v-_=="));  // the URL alphabet is not this one
  CHECK_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

TEST_CASE("base64url decodes a JWT part: URL alphabet, no padding", "[base64]") {
  CHECK(weft::base64url_decode("") == std::string());
  CHECK(weft::base64url_decode("Zg") == std::string("f"));
  CHECK(weft::base64url_decode("Zm8") == std::string("fo"));
  CHECK(weft::base64url_decode("Zm9v") == std::string("foo"));
  CHECK(weft::base64url_decode("-_8") == std::string("\xfb\xff"));
  CHECK_FALSE(weft::base64url_decode("Z"));      // a lone character is no byte
  CHECK_FALSE(weft::base64url_decode("+/8"));    // the standard alphabet is not this one
  CHECK_FALSE(weft::base64url_decode("Zg=="));   // no padding in a JWT
  CHECK_FALSE(weft::base64url_decode("Zm\n8"));  // nor line breaks
  CHECK_FALSE(weft::base64url_decode("Zm.8"));
}
