// CPU cost of one review without the network: parse the captured AdmissionReview,
// decide, build the patch, write the response. Single thread, fixed iterations.
//   webhook_mutate_micro REVIEW.json [ITERATIONS]

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "webhook/admission.h"
#include "webhook/mutate.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: webhook_mutate_micro REVIEW.json [ITERATIONS]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  const int iterations = argc > 2 ? std::stoi(argv[2]) : 20000;
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
  const double parse_us =
      timed([&] { bytes += weft::webhook::parse_admission_review(body)->uid.size(); });
  const auto request = *weft::webhook::parse_admission_review(body);
  const double mutate_us = timed([&] {
    bytes += injector.mutate(request, weft::webhook::Scope::kNamespaceEnabled).outcome.patch.size();
  });
  const auto outcome = injector.mutate(request, weft::webhook::Scope::kNamespaceEnabled).outcome;
  const double respond_us =
      timed([&] { bytes += weft::webhook::admission_response(request.uid, outcome).size(); });
  const double total_us = timed([&] {
    auto parsed = weft::webhook::parse_admission_review(body);
    auto result = injector.mutate(*parsed, weft::webhook::Scope::kNamespaceEnabled);
    bytes += weft::webhook::admission_response(parsed->uid, result.outcome).size();
  });
  std::cout << "review_bytes=" << body.size() << " parse_us=" << parse_us
            << " mutate_us=" << mutate_us << " respond_us=" << respond_us
            << " parse_mutate_respond_us=" << total_us << " (checksum " << bytes % 7 << ")\n";
  return 0;
}
