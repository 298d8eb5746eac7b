#include <ostream>

#include "weftctl/cli.h"
#include "weftctl/commands.h"

namespace weft::ctl {
namespace {

struct CompletionOptions {
  std::vector<std::string> shell;
};

const flags::Program<CompletionOptions> kProgram{
    .usage = "Usage: weftctl completion bash|zsh",
    .about =
        "Prints a completion script. bash: source <(weftctl completion bash);\n"
        "zsh: source <(weftctl completion zsh). It completes commands, global flags and\n"
        "each command's flags (read from its --help).",
    .flags = {flags::arguments(&CompletionOptions::shell, "SHELL", "bash or zsh")}};

}  // namespace

std::string bash_completion_script(std::string_view program) {
  std::string commands;
  for (const auto& command : weft::ctl::commands()) {
    if (!commands.empty()) commands += ' ';
    commands += command.name;
  }
  std::string globals =
      "--kubeconfig --context --namespace -n --all-namespaces -A --output -o "
      "--color --pod-timeout --max-metrics-bytes --help -h --version";
  std::string script;
  script += "# " + std::string(program) + " completion for bash: source <(" + std::string(program) +
            " completion bash)\n";
  script += "_weftctl() {\n";
  script += "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command= i\n";
  script += "  case $prev in\n";
  script += "    -o|--output) COMPREPLY=($(compgen -W 'table json yaml' -- \"$cur\")); return;;\n";
  script += "    --color) COMPREPLY=($(compgen -W 'auto always never' -- \"$cur\")); return;;\n";
  script +=
      "    -n|--namespace) COMPREPLY=($(compgen -W \"$(kubectl get namespaces -o "
      "jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" -- \"$cur\")); return;;\n";
  script += "    --kubeconfig|-f|--filename) COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n";
  script += "  esac\n";
  script += "  for ((i = 1; i < COMP_CWORD; i++)); do\n";
  script += "    case ${COMP_WORDS[i]} in\n";
  script +=
      "      -n|--namespace|-o|--output|--context|--kubeconfig|--color|--pod-timeout|"
      "--max-metrics-bytes) ((i++));;\n";
  script += "      -*) ;;\n";
  script += "      *) command=${COMP_WORDS[i]}; break;;\n";
  script += "    esac\n";
  script += "  done\n";
  script += "  if [[ -z $command ]]; then\n";
  script += "    COMPREPLY=($(compgen -W '" + commands + " " + globals + "' -- \"$cur\"))\n";
  script += "  elif [[ $cur != -* ]]; then\n";
  // The first word after a command that takes a kind or an action.
  script += "    local words=\n";
  script += "    case $command in\n";
  script += "      stat) words='deploy pod ns route';;\n";
  script += "      diagnose) words='config endpoints policy';;\n";
  script += "      completion) words='bash zsh';;\n";
  script += "    esac\n";
  script += "    if [[ $prev == \"$command\" && -n $words ]]; then\n";
  script += "      COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n";
  script += "    fi\n";
  script += "  else\n";
  script +=
      "    local own=$(\"${COMP_WORDS[0]}\" \"$command\" --help 2>/dev/null | grep -o -- "
      "'--[a-z0-9-]*' "
      "| sort -u)\n";
  script += "    COMPREPLY=($(compgen -W \"$own " + globals + "\" -- \"$cur\"))\n";
  script += "  fi\n";
  script += "}\n";
  script += "complete -o default -F _weftctl weftctl kubectl-weft\n";
  return script;
}

int completion_command(Context& context, const std::vector<std::string>& args) {
  auto parsed = flags::parse(kProgram, args);
  if (!parsed) {
    context.err << "weftctl completion: " << parsed.error().message << "\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(kProgram);
    return 0;
  }
  const auto& shell = parsed->options.shell;
  if (shell.size() != 1 || (shell[0] != "bash" && shell[0] != "zsh")) {
    context.err << "weftctl completion: name one shell, bash or zsh\n";
    return 2;
  }
  // zsh runs bash completion functions through its bashcompinit.
  if (shell[0] == "zsh") context.out << "autoload -U +X bashcompinit && bashcompinit\n";
  context.out << bash_completion_script("weftctl");
  return 0;
}

}  // namespace weft::ctl
