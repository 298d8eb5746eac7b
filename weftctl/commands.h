#pragma once

// The subcommands weftctl knows, and the one entry point main() calls. A
// command is a row here and a function in its own folder (weftctl/<command>/).

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "weft/flags.h"
#include "weftctl/context.h"

namespace weft::ctl {

struct CommandInfo {
  std::string_view name;
  std::string_view summary;  // one line, for weftctl --help and completion
  CommandFn run;
};

const std::vector<CommandInfo>& commands();
const CommandInfo* find_command(std::string_view name);

// How the program was called: "weftctl", or "kubectl weft" when run as the
// kubectl plugin (a binary named kubectl-weft on the PATH).
std::string display_name(std::string_view argv0);

struct Streams {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool out_is_terminal = false;
  bool err_is_terminal = false;  // progress notes go to stderr only then
};

// The whole program: global flags, then the command. `client` overrides how the
// API client is made (tests); empty: from the kubeconfig as kubectl would.
int run(const std::vector<std::string>& arguments, std::string_view program, Streams streams,
        const flags::Env& env, ClientFactory client = {});

// `weftctl completion bash|zsh`: the script for the shell.
int completion_command(Context& context, const std::vector<std::string>& args);
std::string bash_completion_script(std::string_view program);

}  // namespace weft::ctl
