// CPU cost of one review without the network: parse the captured AdmissionReview,
// decide, build the patch, write the response. Single thread, fixed iterations,
// ROUNDS rounds, medians over the rounds.
//   webhook_mutate_micro REVIEW.json [ITERATIONS] [ROUNDS]

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "webhook/admission.h"
#include "webhook/mutate.h"

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: webhook_mutate_micro REVIEW.json [ITERATIONS] [ROUNDS]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  const int iterations = argc > 2 ? std::stoi(argv[2]) : 20000;
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 1;
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
  const auto request = *weft::webhook::parse_admission_review(body);
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
