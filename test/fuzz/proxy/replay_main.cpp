// Runs the fuzz target over files given on the command line, without
// libFuzzer: g++ builds it as a unit test over the request fixtures, so the
// target and its invariants are checked in every CI run. An invariant broken
// aborts the process.

#include <cstdint>
#include <cstdio>
#include <string>

#include "weft/file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const auto read = weft::read_file(argv[i]);
    if (!read) {
      std::fprintf(stderr, "%s\n", read.error().message.c_str());
      return 1;
    }
    const std::string& bytes = *read;
    // Every mode byte: request and response parsing, every piece size.
    for (int mode = 0; mode < 32; ++mode) {
      std::string input(1, static_cast<char>(mode));
      input += bytes;
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
      ++inputs;
    }
  }
  std::printf("%d inputs replayed, invariants held\n", inputs);
  return inputs > 0 ? 0 : 1;
}
