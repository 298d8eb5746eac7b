// libFuzzer target for the ClientHello parser (proxy/tls/client_hello.*):
// no read past the input (ASan), and the answer does not depend on how much
// beyond a complete hello was delivered, nor does a prefix of a complete hello
// claim to be complete, and a reader given the input as it grows answers as
// a parse of all of it. Build and run:
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. \
//     test/fuzz/proxy/client_hello_fuzz.cpp proxy/tls/client_hello.cpp -o /tmp/hello_fuzz
//   /tmp/hello_fuzz -max_total_time=60

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/tls/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using weft::proxy::ClientHello;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ClientHello whole = weft::proxy::parse_client_hello(input);
  // Read as it arrives (growing prefixes, as detection reads): the same answer.
  weft::proxy::ClientHelloReader reader;
  const std::size_t step = 1 + (size > 0 ? data[size - 1] % 16 : 0);
  ClientHello arrived;
  for (std::size_t n = 0;; n = std::min(size, n + step)) {
    arrived = reader.read(input.substr(0, n));
    if (n == size) break;
  }
  if (arrived.status != whole.status || arrived.alpn != whole.alpn ||
      arrived.server_name != whole.server_name || arrived.size != whole.size ||
      arrived.too_large != whole.too_large) {
    std::abort();
  }
  if (whole.status != ClientHello::Status::kComplete) return 0;
  if (whole.size > size) std::abort();
  // The same hello without what followed it: the same answer.
  const ClientHello exact = weft::proxy::parse_client_hello(input.substr(0, whole.size));
  if (exact.status != ClientHello::Status::kComplete || exact.alpn != whole.alpn ||
      exact.server_name != whole.server_name) {
    std::abort();
  }
  // Any shorter prefix is not complete.
  for (std::size_t n = 0; n < whole.size; n += 1 + whole.size / 64) {
    if (weft::proxy::parse_client_hello(input.substr(0, n)).status ==
        ClientHello::Status::kComplete) {
      std::abort();
    }
  }
  return 0;
}
