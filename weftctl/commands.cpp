#include "weftctl/commands.h"

#include "weftctl/check/check_command.h"
#include "weftctl/diagnose/diagnose_command.h"
#include "weftctl/inject/inject_command.h"
#include "weftctl/stat/stat_command.h"
#include "weftctl/version/version_command.h"

namespace weft::ctl {

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> table = {
      {"check", "check that the mesh is healthy (--pre: that it can be installed)", check_command},
      {"stat", "golden metrics of meshed deployments, pods, namespaces and routes", stat_command},
      {"diagnose", "what a proxy serves, what it balances over, what policies decide for a pod",
       diagnose_command},
      {"inject", "opt manifests' pods into the mesh, or inject the proxy (--manual)",
       inject_command},
      {"uninject", "remove what inject added from manifests", uninject_command},
      {"version", "print the client's, the API server's and the control plane's versions",
       version_command},
      {"completion", "print a shell completion script (bash or zsh)", completion_command},
  };
  return table;
}

const CommandInfo* find_command(std::string_view name) {
  for (const auto& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace weft::ctl
