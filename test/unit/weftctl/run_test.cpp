#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weftctl/commands.h"

namespace {

struct Ran {
  int status = 0;
  std::string out;
  std::string err;
};

Ran run(const std::vector<std::string>& args, std::string_view program = "weftctl") {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  Ran ran;
  // A test must never reach a real cluster through the user's kubeconfig.
  ran.status =
      weft::ctl::run(args, program, {in, out, err, false}, weft::flags::environment_of({}), [] {
        return weft::Result<std::shared_ptr<weft::kube::Client>>(
            weft::Error{"no cluster in unit tests"});
      });
  ran.out = out.str();
  ran.err = err.str();
  return ran;
}

}  // namespace

TEST_CASE("no command prints the help, listing every command and the global flags") {
  const auto ran = run({});
  CHECK(ran.status == 0);
  for (const auto& command : weft::ctl::commands()) {
    CHECK(ran.out.find("  " + std::string(command.name) + " ") != std::string::npos);
  }
  CHECK(ran.out.find("-n, --namespace NAME") != std::string::npos);
  CHECK(run({}, "kubectl weft").out.find("Usage: kubectl weft [global flags]") !=
        std::string::npos);
}

TEST_CASE("an unknown command or global flag is a usage error (2) on stderr") {
  const auto unknown = run({"frobnicate"});
  CHECK(unknown.status == 2);
  CHECK(unknown.out.empty());
  CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);
  const auto bad_flag = run({"-o", "xml", "completion", "bash"});
  CHECK(bad_flag.status == 2);
  CHECK(bad_flag.err == "weftctl: --output: 'xml' is not table, json or yaml\n");
}

TEST_CASE("every command answers --help, before or after its name, with exit 0") {
  for (const auto& command : weft::ctl::commands()) {
    INFO(command.name);
    const auto after = run({std::string(command.name), "--help"});
    CHECK(after.status == 0);
    CHECK(after.out.find("Usage:") != std::string::npos);
    const auto before = run({"--help", std::string(command.name)});
    CHECK(before.status == 0);
    CHECK(before.out == after.out);
  }
}

TEST_CASE("the program name follows how it was run: kubectl-weft is the kubectl plugin") {
  CHECK(weft::ctl::display_name("/usr/local/bin/kubectl-weft") == "kubectl weft");
  CHECK(weft::ctl::display_name("kubectl-weft") == "kubectl weft");
  CHECK(weft::ctl::display_name("./build/bin/weftctl") == "weftctl");
}

TEST_CASE("completion: a bash script naming every command; zsh loads bashcompinit first") {
  const auto bash = run({"completion", "bash"});
  CHECK(bash.status == 0);
  CHECK(bash.out.find("complete -o default -F _weftctl weftctl kubectl-weft") != std::string::npos);
  for (const auto& command : weft::ctl::commands()) {
    CHECK(bash.out.find(std::string(command.name)) != std::string::npos);
  }
  const auto zsh = run({"completion", "zsh"});
  CHECK(zsh.out.rfind("autoload -U +X bashcompinit && bashcompinit\n", 0) == 0);
  CHECK(run({"completion", "fish"}).status == 2);
  CHECK(run({"completion"}).status == 2);
}

namespace {

// What bash offers for the words of a command line whose last word is being completed
// (`line` goes inside single quotes: an empty word is written "").
std::string complete_in_bash(const std::string& script, const std::string& line) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("weftctl-completion-" + std::to_string(::getpid()) + ".bash");
  std::ofstream(path) << script;
  const std::string command = "bash -c 'source " + path.string() + "; COMP_WORDS=(" + line +
                              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
                              "_weftctl; echo \"${COMPREPLY[*]}\"' 2>&1";
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    ::pclose(pipe);
  }
  std::filesystem::remove(path);
  return out;
}

}  // namespace

TEST_CASE("completion, run by bash: commands, then a command's kinds or actions, then its flags") {
  const auto script = run({"completion", "bash"}).out;
  CHECK(complete_in_bash(script, "weftctl ch") == "check\n");
  CHECK(complete_in_bash(script, "weftctl stat \"\"") == "deploy pod ns route\n");
  CHECK(complete_in_bash(script, "weftctl -n demo stat r") == "route\n");
  CHECK(complete_in_bash(script, "weftctl diagnose e") == "endpoints\n");
  CHECK(complete_in_bash(script, "weftctl completion z") == "zsh\n");
  // Past the kind, a name: no word list (bash falls back to its default).
  CHECK(complete_in_bash(script, "weftctl stat deploy \"\"") == "\n");
  CHECK(complete_in_bash(script, "weftctl -o j") == "json\n");
  CHECK(complete_in_bash(script, "weftctl -o \"\"") == "table json yaml\n");
}
