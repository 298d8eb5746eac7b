// weft-load: a constant-rate HTTP load generator for the sample topology
// (see samples/README.md).

#include <iostream>

#include "samples/load/load_metrics.h"
#include "samples/load/options.h"
#include "samples/load/runner.h"
#include "weft/http/server.h"
#include "weft/log.h"
#include "weft/metrics.h"

int main(int argc, char** argv) {
  using namespace weft::samples;
  auto options = parse_load_options({argv + 1, argv + argc}, process_environment());
  if (!options) {
    std::cerr << "weft-load: " << options.error().message << " (see --help)\n";
    return 2;
  }
  if (options->help) {
    std::cout << load_usage();
    return 0;
  }
  weft::Logger logger("load", options->log_level);
  weft::Registry registry;
  LoadMetrics metrics(registry);

  std::unique_ptr<weft::http::Server> metrics_server;
  if (options->metrics_port) {
    weft::http::ServerOptions server_options;
    server_options.address = options->metrics_address;
    server_options.port = *options->metrics_port;
    server_options.threads = 1;
    server_options.logger = &logger;
    weft::http::Routes routes;
    routes["/metrics"] = [&registry](const weft::http::Request&) {
      return weft::http::Response{200, registry.expose(),
                                  std::string(weft::kPrometheusContentType)};
    };
    routes["/healthz"] = [](const weft::http::Request&) {
      return weft::http::Response{200, "ok\n"};
    };
    auto started = weft::http::Server::start(server_options, std::move(routes));
    if (!started) {
      logger.error("cannot serve metrics", {{"error", started.error().message}});
      return 1;
    }
    metrics_server = std::move(*started);
    logger.info("metrics listening",
                {{"address", options->metrics_address}, {"port", metrics_server->port()}});
  }

  LoadRunner runner(*options, &metrics);
  logger.info("sending", {{"targets", options->targets.size()},
                          {"rate", options->rate},
                          {"concurrency", options->concurrency},
                          {"duration_ms", options->duration ? options->duration->count() : -1},
                          {"requests", options->requests ? *options->requests : 0}});
  runner.run(/*stop_on_signals=*/true);
  if (options->json) {
    std::cout << render_json(runner.tally(), runner.elapsed()).dump(2) << "\n";
  } else {
    std::cout << render_text(runner.tally(), runner.elapsed());
  }
  if (metrics_server) metrics_server->stop();
  return 0;
}
