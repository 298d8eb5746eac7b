// Runs the fuzz target over files given on the command line, without
// libFuzzer: g++ builds it as a unit test over the request fixtures, so the
// target and its invariants are checked in every CI run. An invariant broken
// aborts the process.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
