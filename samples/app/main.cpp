// weft-sample-app: a small HTTP service for trying Weft (see samples/README.md).

#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>

#include "samples/app/options.h"
#include "samples/app/server.h"
#include "weft/log.h"

int main(int argc, char** argv) {
  using namespace weft::samples;
  auto options = parse_app_options({argv + 1, argv + argc}, process_environment());
  if (!options) {
    std::cerr << "weft-sample-app: " << options.error().message << " (see --help)\n";
    return 2;
  }
  if (options->help) {
    std::cout << app_usage();
    return 0;
  }
  weft::Logger logger("sample-app", options->log_level);

  // Blocked before any thread starts, so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = SampleServer::start(*options, logger);
  if (!server) {
    logger.error("cannot start", {{"error", server.error().message}});
    return 1;
  }
  nlohmann::json downstreams = nlohmann::json::array();
  for (const auto& url : options->downstreams) downstreams.push_back(url.text);
  logger.info("listening", {{"address", options->address},
                            {"port", (*server)->port()},
                            {"name", options->name},
                            {"version", options->version},
                            {"latency", to_string(options->latency)},
                            {"failure_rate", options->failure_rate},
                            {"downstreams", downstreams}});

  int signal = 0;
  sigwait(&stop_signals, &signal);
  logger.info("draining", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
                           {"grace_ms", options->shutdown_grace.count()}});
  const std::size_t cut = (*server)->finish_shutdown(options->shutdown_grace);
  logger.info("stopped", {{"connections_cut", cut}});
  return 0;
}
