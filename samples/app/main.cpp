// weft-sample-app: a small HTTP service for trying Weft (see samples/README.md).

#include <iostream>
#include <nlohmann/json.hpp>

#include "samples/app/options.h"
#include "samples/app/server.h"
#include "weft/log.h"
#include "weft/signals.h"

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

  // Blocked before any thread starts, so that only the wait below takes them.
  const weft::StopSignals stop_signals;

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

  const int signal = stop_signals.wait();
  logger.info("draining", {{"signal", weft::signal_name(signal)},
                           {"grace_ms", options->shutdown_grace.count()}});
  const std::size_t cut = (*server)->finish_shutdown(options->shutdown_grace);
  logger.info("stopped", {{"connections_cut", cut}});
  return 0;
}
