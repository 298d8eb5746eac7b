// Runs the fuzz target over the request fixtures given on the command line,
// without libFuzzer: g++ builds it as a unit test, so the target and its
// invariants (an abort when broken) run in every CI run. Each fixture is
// decoded as the parser's unit test decodes it (fixture_format.h), its
// outcome compared with its "# expect:" line, and the number of fixtures
// reaching each outcome compared with --outcomes, so a parser that starts
// refusing (or accepting) what it did not is caught here too.
//   weft_proxy_http1_fuzz_replay --outcomes ok=N,400=M,... FIXTURE...

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "test/fuzz/proxy/fixture_format.h"
#include "test/fuzz/proxy/http1_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string outcome_name(int status) {
  if (status == -1) return "incomplete";
  if (status == 0) return "ok";
  return std::to_string(status);
}

std::string tally_text(const std::map<std::string, int>& tally) {
  std::string text;
  for (const auto& [outcome, count] : tally) {
    if (!text.empty()) text += ',';
    text += outcome + "=" + std::to_string(count);
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string wanted;
  int first = 1;
  if (argc > 2 && std::string(argv[1]) == "--outcomes") {
    wanted = argv[2];
    first = 3;
  }
  int inputs = 0;
  int failures = 0;
  std::map<std::string, int> tally;
  for (int i = first; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    const weft::test::Fixture fixture = weft::test::decode_fixture(argv[i], text.str());
    const std::string outcome = outcome_name(http1_fuzz_status(fixture.bytes, false));
    ++tally[outcome];
    const auto expected = fixture.expect.find("expect");
    if (expected == fixture.expect.end() || expected->second != outcome) {
      std::fprintf(
          stderr, "%s: expected %s, got %s\n", argv[i],
          expected == fixture.expect.end() ? "(no # expect line)" : expected->second.c_str(),
          outcome.c_str());
      ++failures;
    }
    // Every mode byte: request and response parsing, every piece size.
    for (int mode = 0; mode < 32; ++mode) {
      std::string input(1, static_cast<char>(mode));
      input += fixture.bytes;
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
      ++inputs;
    }
  }
  const std::string got = tally_text(tally);
  std::printf("%d inputs replayed, invariants held; outcomes %s\n", inputs, got.c_str());
  if (!wanted.empty() && got != wanted) {
    std::fprintf(stderr, "outcomes %s, expected %s\n", got.c_str(), wanted.c_str());
    ++failures;
  }
  return inputs > 0 && failures == 0 ? 0 : 1;
}
