#include "weftctl/cli.h"

#include <charconv>
#include <optional>

#include "weft/duration.h"

namespace weft::ctl {
namespace {

enum class Global {
  kKubeconfig,
  kContext,
  kNamespace,
  kAllNamespaces,
  kOutput,
  kColor,
  kPodTimeout,
  kMaxMetricsBytes
};

struct GlobalFlag {
  Global which;
  std::string_view long_name;
  char short_name;  // '\0': none
  bool takes_value;
};

constexpr GlobalFlag kGlobalFlags[] = {
    {Global::kKubeconfig, "kubeconfig", '\0', true},
    {Global::kContext, "context", '\0', true},
    {Global::kNamespace, "namespace", 'n', true},
    {Global::kAllNamespaces, "all-namespaces", 'A', false},
    {Global::kOutput, "output", 'o', true},
    {Global::kColor, "color", '\0', true},
    {Global::kPodTimeout, "pod-timeout", '\0', true},
    {Global::kMaxMetricsBytes, "max-metrics-bytes", '\0', true},
};

const GlobalFlag* find_long(std::string_view name) {
  for (const auto& flag : kGlobalFlags) {
    if (flag.long_name == name) return &flag;
  }
  return nullptr;
}

const GlobalFlag* find_short(char name) {
  for (const auto& flag : kGlobalFlags) {
    if (flag.short_name != '\0' && flag.short_name == name) return &flag;
  }
  return nullptr;
}

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

Result<Output> parse_output(std::string_view text) {
  if (text == "table" || text == "wide") return Output::kTable;
  if (text == "json") return Output::kJson;
  if (text == "yaml") return Output::kYaml;
  return Error{"--output: " + quote(text) + " is not table, json or yaml"};
}

}  // namespace

Result<Invocation> parse_invocation(const std::vector<std::string>& arguments,
                                    bool stdout_is_terminal, const flags::Env& env) {
  Invocation invocation;
  std::string color_mode = "auto";
  bool rest_is_arguments = false;  // after "--"

  auto apply = [&](const GlobalFlag& flag, std::string_view value) -> std::optional<Error> {
    const std::string shown = "--" + std::string(flag.long_name);
    switch (flag.which) {
      case Global::kKubeconfig:
        invocation.options.kubeconfig = value;
        break;
      case Global::kContext:
        invocation.options.context = value;
        break;
      case Global::kNamespace:
        invocation.options.namespace_name = value;
        break;
      case Global::kAllNamespaces: {
        auto on = flags::parse_bool(value);
        if (!on) return Error{shown + " takes no value, or true or false, not " + quote(value)};
        invocation.options.all_namespaces = *on;
        break;
      }
      case Global::kOutput: {
        auto output = parse_output(value);
        if (!output) return output.error();
        invocation.options.output = *output;
        break;
      }
      case Global::kColor:
        if (value != "auto" && value != "always" && value != "never") {
          return Error{"--color: " + quote(value) + " is not auto, always or never"};
        }
        color_mode = value;
        break;
      case Global::kPodTimeout: {
        auto timeout = parse_duration(value);
        if (!timeout || timeout->count() <= 0) {
          return Error{shown + ": " + quote(value) + " is not a positive duration (5s, 500ms)"};
        }
        invocation.options.pod_probe.timeout = *timeout;
        break;
      }
      case Global::kMaxMetricsBytes: {
        std::size_t bytes = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), bytes);
        if (error != std::errc() || end != value.data() + value.size() || bytes == 0) {
          return Error{shown + ": " + quote(value) + " is not a positive number of bytes"};
        }
        invocation.options.pod_probe.max_metrics_bytes = bytes;
        break;
      }
    }
    if (flag.takes_value && value.empty()) return Error{shown + " needs a value"};
    return std::nullopt;
  };

  for (std::size_t at = 0; at < arguments.size(); ++at) {
    const std::string& arg = arguments[at];
    if (rest_is_arguments) {
      invocation.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      rest_is_arguments = true;
      if (!invocation.command.empty()) invocation.args.push_back(arg);
      continue;
    }
    const GlobalFlag* flag = nullptr;
    std::optional<std::string> inline_value;
    if (arg.starts_with("--") && arg.size() > 2) {
      const std::size_t equals = arg.find('=');
      flag = find_long(std::string_view(arg).substr(2, equals == arg.npos ? arg.npos : equals - 2));
      if (flag && equals != arg.npos) inline_value = arg.substr(equals + 1);
    } else if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      flag = find_short(arg[1]);
      if (flag && arg.size() > 2) {
        // -nshop, -ojson, -o=json (kubectl accepts all three)
        inline_value = arg.substr(arg[2] == '=' ? 3 : 2);
      }
    }
    if (flag) {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (!flag->takes_value) {
        value = "true";
      } else if (at + 1 < arguments.size()) {
        value = arguments[++at];
      } else {
        return Error{"--" + std::string(flag->long_name) + " needs a value"};
      }
      if (auto problem = apply(*flag, value)) return *problem;
      continue;
    }
    if (invocation.command.empty()) {
      if (arg == "-h" || arg == "--help") {
        invocation.help = true;
      } else if (arg == "--version") {
        invocation.version = true;
      } else if (arg.starts_with("-")) {
        return Error{"unknown flag " + arg + " (weftctl --help lists the global flags)"};
      } else {
        invocation.command = arg;
      }
      continue;
    }
    invocation.args.push_back(arg);
  }
  if (invocation.command.empty() && !invocation.version) invocation.help = true;
  if (invocation.options.all_namespaces && !invocation.options.namespace_name.empty()) {
    return Error{"--namespace and --all-namespaces exclude each other"};
  }

  bool color = color_mode == "always";
  if (color_mode == "auto") {
    auto variable = [&](std::string_view name) {
      return env ? env(name).value_or("") : std::string();
    };
    color = stdout_is_terminal && variable("NO_COLOR").empty() && variable("TERM") != "dumb";
  }
  invocation.options.color = color;
  return invocation;
}

std::vector<std::string> expand_short_flags(const std::vector<std::string>& args,
                                            const std::map<char, std::string>& long_names) {
  std::vector<std::string> expanded;
  bool rest_is_arguments = false;
  for (const auto& arg : args) {
    if (rest_is_arguments || arg.size() < 2 || arg[0] != '-' || arg[1] == '-') {
      if (arg == "--") rest_is_arguments = true;
      expanded.push_back(arg);
      continue;
    }
    const auto name = long_names.find(arg[1]);
    if (name == long_names.end()) {
      expanded.push_back(arg);
      continue;
    }
    if (arg.size() == 2) {
      expanded.push_back("--" + name->second);
    } else {
      expanded.push_back("--" + name->second + "=" + arg.substr(arg[2] == '=' ? 3 : 2));
    }
  }
  return expanded;
}

const std::vector<GlobalFlagHelp>& global_flag_help() {
  static const std::vector<GlobalFlagHelp> help = {
      {"--kubeconfig PATH", "the kubeconfig file (else in-cluster, $KUBECONFIG, ~/.kube/config)"},
      {"--context NAME", "the kubeconfig context to use"},
      {"-n, --namespace NAME", "the namespace (default: the context's, else \"default\")"},
      {"-A, --all-namespaces", "every namespace"},
      {"-o, --output FORMAT", "table, json or yaml (default table)"},
      {"--color WHEN", "auto, always or never (auto: on a terminal, unless NO_COLOR is set)"},
      {"--pod-timeout DURATION", "the longest exchange with one pod through the pod proxy (5s)"},
      {"--max-metrics-bytes N", "the largest /metrics page read from one pod (8388608)"},
      {"-h, --help", "help for weftctl or, after a command, for that command"},
      {"--version", "the client's and the control plane's versions"},
  };
  return help;
}

}  // namespace weft::ctl
