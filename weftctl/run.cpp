#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>

#include "weft/kube/config.h"
#include "weft/version.h"
#include "weftctl/cli.h"
#include "weftctl/commands.h"
#include "weftctl/output.h"

namespace weft::ctl {
namespace {

void write_help(std::ostream& out, std::string_view program) {
  out << program << ": the command line of the Weft service mesh\n\n"
      << "Usage: " << program << " [global flags] COMMAND [command flags]\n\nCommands:\n";
  Table table({"", ""});
  for (const auto& command : commands()) {
    table.add_row({"  " + std::string(command.name), std::string(command.summary)});
  }
  // The table's header row is empty: skip it.
  std::ostringstream rows;
  table.render(rows);
  out << rows.str().substr(rows.str().find('\n') + 1) << "\nGlobal flags (anywhere on the line):\n";
  Table flags_table({"", ""});
  for (const auto& flag : global_flag_help()) {
    flags_table.add_row({"  " + std::string(flag.names), std::string(flag.help)});
  }
  std::ostringstream flag_rows;
  flags_table.render(flag_rows);
  out << flag_rows.str().substr(flag_rows.str().find('\n') + 1) << "\n"
      << "Run '" << program
      << " COMMAND --help' for a command's own flags. docs/weftctl.md has it all.\n";
}

// The kubeconfig is read once, on the first command that asks for the cluster.
struct LazyClient {
  GlobalOptions options;
  std::mutex mutex;
  std::optional<Result<std::shared_ptr<kube::Client>>> client;
  std::string default_namespace;

  Result<std::shared_ptr<kube::Client>> get() {
    std::lock_guard lock(mutex);
    if (!client) {
      auto config = kube::load_default_config(options.kubeconfig, options.context);
      if (!config) {
        client = Result<std::shared_ptr<kube::Client>>(Error{config.error().message});
      } else {
        default_namespace = config->default_namespace;
        client = kube::Client::from_config(std::move(*config));
      }
    }
    return *client;
  }
};

}  // namespace

std::string Context::namespace_or_default() const {
  if (!options.namespace_name.empty()) return options.namespace_name;
  if (auto from_config = default_namespace(); !from_config.empty()) return from_config;
  return "default";
}

std::string display_name(std::string_view argv0) {
  const auto slash = argv0.rfind('/');
  const std::string_view base = slash == argv0.npos ? argv0 : argv0.substr(slash + 1);
  if (base == "kubectl-weft") return "kubectl weft";
  return "weftctl";
}

int run(const std::vector<std::string>& arguments, std::string_view program, Streams streams,
        const flags::Env& env, ClientFactory client) {
  auto invocation = parse_invocation(arguments, streams.out_is_terminal, env);
  if (!invocation) {
    streams.err << program << ": " << invocation.error().message << "\n";
    return 2;
  }
  auto lazy = std::make_shared<LazyClient>();
  lazy->options = invocation->options;
  Context context{.options = invocation->options,
                  .in = streams.in,
                  .out = streams.out,
                  .err = streams.err,
                  .client = client ? client : ClientFactory([lazy] { return lazy->get(); }),
                  .default_namespace =
                      [lazy] {
                        std::lock_guard lock(lazy->mutex);
                        return lazy->default_namespace;
                      },
                  .err_is_terminal = streams.err_is_terminal};
  if (invocation->version) {
    if (const auto* version = find_command("version"))
      return version->run(context, invocation->args);
    streams.out << "weftctl " << weft::version() << "\n";
    return 0;
  }
  if (invocation->command.empty()) {
    write_help(streams.out, program);
    return 0;
  }
  const auto* command = find_command(invocation->command);
  if (!command) {
    streams.err << program << ": unknown command '" << invocation->command << "'\n";
    write_help(streams.err, program);
    return 2;
  }
  auto args = invocation->args;
  if (invocation->help) args.insert(args.begin(), "--help");
  return command->run(context, args);
}

}  // namespace weft::ctl
