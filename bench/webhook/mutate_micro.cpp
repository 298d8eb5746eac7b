// CPU cost of one review without the network: parse the captured AdmissionReview,
// decide, build the patch, write the response. Single thread, fixed iterations,
// ROUNDS rounds, medians over the rounds.
//   webhook_mutate_micro REVIEW.json [ITERATIONS] [ROUNDS]

#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "webhook/admission.h"
#include "webhook/mutate.h"
#include "weft/file.h"
#include "weft/flags.h"

namespace {

namespace flags = weft::flags;

using ParseReview = weft::Result<weft::webhook::AdmissionRequest> (*)(std::string_view);

struct Candidate {
  const char* name;
  ParseReview parse;
  std::vector<double> parse_us, total_us;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Options {
  std::vector<std::string> arguments;  // REVIEW.json [ITERATIONS] [ROUNDS]
};

const flags::Program<Options>& program() {
  static const flags::Program<Options> table{
      .usage = "Usage: webhook_mutate_micro REVIEW.json [ITERATIONS] [ROUNDS]",
      .about =
          "CPU per review without the network, one thread: ITERATIONS reviews per step\n"
          "(default 20000), ROUNDS rounds (default 1), medians over the rounds.",
      .flags = {flags::arguments(
          &Options::arguments,
          [](std::string_view v) -> weft::Result<std::string> { return std::string(v); },
          "REVIEW.json [ITERATIONS] [ROUNDS]", "the AdmissionReview to parse, and the counts")},
  };
  return table;
}

int usage_error(const std::string& message) {
  std::cerr << "webhook_mutate_micro: " << message << " (see --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = flags::parse(program(), {argv + 1, argv + argc});
  if (!parsed) return usage_error(parsed.error().message);
  if (parsed->help) {
    std::cout << flags::usage(program());
    return 0;
  }
  const std::vector<std::string>& arguments = parsed->options.arguments;
  if (arguments.empty() || arguments.size() > 3) {
    return usage_error("give REVIEW.json [ITERATIONS] [ROUNDS]");
  }
  // The table has one parser for all arguments; the counts are checked here.
  int iterations = 20000, rounds = 1;
  for (auto [index, name, count] :
       {std::tuple{1U, "ITERATIONS", &iterations}, std::tuple{2U, "ROUNDS", &rounds}}) {
    if (index >= arguments.size()) break;
    auto n = flags::parse_integer(arguments[index], 1, std::numeric_limits<int>::max());
    if (!n) return usage_error(std::string(name) + ": " + n.error().message);
    *count = static_cast<int>(*n);
  }
  auto read = weft::read_file(arguments[0]);
  if (!read) return usage_error(read.error().message);
  const std::string body = std::move(*read);
  auto review = weft::webhook::parse_admission_review(body);
  if (!review) return usage_error(arguments[0] + ": " + review.error().message);
  const auto request = std::move(*review);
  weft::webhook::InjectorConfig config;
  config.sidecar_mode = weft::webhook::SidecarMode::kNative;
  const weft::webhook::Injector injector(config);  // as the server holds it
  std::size_t bytes = 0;
  const auto timed = [&](auto&& step) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) step();
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    return took.count() / iterations;
  };
  std::vector<Candidate> candidates{
      {"sax", &weft::webhook::parse_admission_review, {}, {}},
  };
  std::vector<double> mutate_us, respond_us;
  for (int round = 0; round < rounds; ++round) {
    for (auto& candidate : candidates) {
      candidate.parse_us.push_back(timed([&] { bytes += candidate.parse(body)->uid.size(); }));
      candidate.total_us.push_back(timed([&] {
        auto parsed = candidate.parse(body);
        auto result = injector.mutate(*parsed, weft::webhook::Scope::kNamespaceEnabled);
        bytes += weft::webhook::admission_response(parsed->uid, result.outcome).size();
      }));
    }
    mutate_us.push_back(timed([&] {
      bytes +=
          injector.mutate(request, weft::webhook::Scope::kNamespaceEnabled).outcome.patch.size();
    }));
    const auto outcome = injector.mutate(request, weft::webhook::Scope::kNamespaceEnabled).outcome;
    respond_us.push_back(
        timed([&] { bytes += weft::webhook::admission_response(request.uid, outcome).size(); }));
  }
  std::cout << "review_bytes=" << body.size() << " rounds=" << rounds
            << " mutate_us=" << median(mutate_us) << " respond_us=" << median(respond_us)
            << " (checksum " << bytes % 7 << ")\n";
  for (const auto& candidate : candidates) {
    std::cout << "  json=" << candidate.name << " parse_us=" << median(candidate.parse_us)
              << " parse_mutate_respond_us=" << median(candidate.total_us) << "\n";
  }
  return 0;
}
