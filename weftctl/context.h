#pragma once

// What every weftctl command is given: the global options (parsed once, before
// the command's own flags), the three streams, and the API client, made on
// first use so that commands which need no cluster (inject with a local
// configuration, completion, --help) never read a kubeconfig.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "weft/kube/client.h"
#include "weft/result.h"
#include "weftctl/pod_probe.h"

namespace weft::ctl {

enum class Output { kTable, kJson, kYaml };

struct GlobalOptions {
  std::string kubeconfig;          // --kubeconfig
  std::string context;             // --context
  std::string namespace_name;      // -n/--namespace; "" = the kubeconfig's, else "default"
  bool all_namespaces = false;     // -A/--all-namespaces
  Output output = Output::kTable;  // -o/--output table|json|yaml
  bool color = false;  // resolved from --color=auto|always|never (auto: a terminal, NO_COLOR unset)
  // --pod-timeout, --max-metrics-bytes: asking a pod through the API server's pod proxy.
  PodProbeLimits pod_probe{};
};

using ClientFactory = std::function<Result<std::shared_ptr<kube::Client>>()>;

struct Context {
  GlobalOptions options;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  // The API client, made once on first use (kubeconfig, --context, in-cluster, as kubectl).
  ClientFactory client;
  // The kubeconfig context's namespace, when the client was made from one.
  std::function<std::string()> default_namespace = [] { return std::string(); };

  // stderr is a terminal: a long wait may say what it waits for there.
  bool err_is_terminal = false;

  // -n, else the kubeconfig context's namespace, else "default".
  std::string namespace_or_default() const;
};

// A subcommand gets the words after its name, global flags already removed,
// and returns the exit status: 0 done or healthy, 1 failed or unhealthy, 2 a
// usage error.
using CommandFn = int (*)(Context&, const std::vector<std::string>& args);

}  // namespace weft::ctl
