#pragma once

// The command line before any command runs: the global flags, accepted
// anywhere on the line as kubectl accepts them (`weftctl -n shop stat deploy`
// and `weftctl stat deploy -n shop` mean the same), taken out, and what is left
// handed to the subcommand. Pure: the caller says whether stdout is a terminal
// and what the environment holds.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "weft/flags.h"
#include "weft/result.h"
#include "weftctl/context.h"

namespace weft::ctl {

struct Invocation {
  GlobalOptions options;
  std::string command;            // "" when none was given
  std::vector<std::string> args;  // the command's own words and flags
  bool help = false;              // -h/--help before the command (or no command)
  bool version = false;           // --version
};

// `arguments` excludes the program name. Errors name the flag and the value.
Result<Invocation> parse_invocation(const std::vector<std::string>& arguments,
                                    bool stdout_is_terminal, const flags::Env& env);

// Short flags a command accepts (kubectl's `-f FILE`, `-w`), rewritten to the
// long forms the project's flag parser reads: {'f', "filename"} turns `-f x`
// and `-fx` into `--filename x` / `--filename=x`. Other words are unchanged.
std::vector<std::string> expand_short_flags(const std::vector<std::string>& args,
                                            const std::map<char, std::string>& long_names);

// The global flags, for --help and shell completion.
struct GlobalFlagHelp {
  std::string_view names;  // "-n, --namespace NAME"
  std::string_view help;
};
const std::vector<GlobalFlagHelp>& global_flag_help();

}  // namespace weft::ctl
