#include "weftctl/inject/inject_command.h"

#include <algorithm>
#include <filesystem>
#include <istream>
#include <iterator>
#include <optional>
#include <ostream>

#include "weft/file.h"
#include "weft/flags.h"
#include "weftctl/cli.h"
#include "weftctl/inject/injector_config_source.h"
#include "weftctl/inject/manifest_injection.h"
#include "weftctl/output.h"

namespace weft::ctl {
namespace {

using inject::InjectMode;

struct InjectOptions {
  std::vector<std::string> files;
  bool manual = false;
  bool annotate_only = false;
  inject::InjectorSource source;
  long long max_document_nodes = static_cast<long long>(inject::kDefaultMaxDocumentNodes);
  long long max_document_bytes = static_cast<long long>(inject::kDefaultMaxDocumentBytes);
};

struct UninjectOptions {
  std::vector<std::string> files;
  long long max_document_nodes = static_cast<long long>(inject::kDefaultMaxDocumentNodes);
  long long max_document_bytes = static_cast<long long>(inject::kDefaultMaxDocumentBytes);
};

template <class Options>
inject::ReadLimits read_limits(const Options& options) {
  return {.max_nodes = static_cast<std::size_t>(options.max_document_nodes),
          .max_bytes = static_cast<std::size_t>(options.max_document_bytes)};
}

const flags::Program<InjectOptions>& inject_program() {
  static const flags::Program<InjectOptions> program{
      .usage = "Usage: weftctl inject [-f FILE]... [--manual] [flags]",
      .about =
          "Opts the pods of Kubernetes manifests into the mesh, for GitOps: reads YAML or\n"
          "JSON (many documents, Lists) from the files or stdin and writes them to stdout\n"
          "with the pod template of every Pod, Deployment, StatefulSet, DaemonSet,\n"
          "ReplicaSet, ReplicationController, Job and CronJob annotated weft.io/inject:\n"
          "enabled, so that the webhook injects the proxy at admission (the default), or\n"
          "with --manual injected now by the webhook's own code, as the webhook would.\n"
          "Documents it does not change are written back byte for byte; injecting twice\n"
          "changes nothing. A note per object goes to stderr. A document that does not\n"
          "parse, or a pod the webhook would refuse, is an error (exit 1) and nothing is\n"
          "written to stdout.",
      .flags =
          {
              flags::list("filename", &InjectOptions::files,
                          "a manifest file or folder, '-' for stdin; repeatable (-f)")
                  .value_name("FILE")
                  .shown_default("stdin"),
              flags::boolean("manual", &InjectOptions::manual,
                             "inject weft-init and weft-proxy now, with the\n"
                             "webhook's configuration (from the cluster, or\n"
                             "--injector-config)"),
              flags::boolean("annotate-only", &InjectOptions::annotate_only,
                             "only add the annotation (the default; no cluster needed)"),
              flags::within(&InjectOptions::source,
                            flags::text("injector-config", &inject::InjectorSource::config_file,
                                        "--manual: the webhook's configuration, the JSON it\n"
                                        "takes with --config; no cluster is asked for it")
                                .value_name("FILE")
                                .shown_default("the cluster's")),
              flags::within(&InjectOptions::source,
                            flags::text("webhook-config-map", &inject::InjectorSource::config_map,
                                        "--manual: the ConfigMap holding the webhook's\n"
                                        "config.json in the cluster")
                                .value_name("NS/NAME")),
              flags::within(
                  &InjectOptions::source,
                  flags::text("kubernetes-version", &inject::InjectorSource::kubernetes_version,
                              "--manual with sidecarMode auto: e.g. v1.30.2,\n"
                              "native sidecars from 1.29 (default: the cluster's)")
                      .value_name("V")),
              flags::integer("max-document-nodes", &InjectOptions::max_document_nodes, 1, 1LL << 40,
                             "refuse a document expanding to more nodes (aliases)"),
              flags::integer("max-document-bytes", &InjectOptions::max_document_bytes, 1, 1LL << 40,
                             "refuse a document expanding to more bytes of text (aliases)"),
          },
      .footer =
          "The namespace of objects without metadata.namespace is -n's (default \"default\");\n"
          "kube-system and weft-system are never injected. Reverse with weftctl uninject.\n"};
  return program;
}

const flags::Program<UninjectOptions>& uninject_program() {
  static const flags::Program<UninjectOptions> program{
      .usage = "Usage: weftctl uninject [-f FILE]...",
      .about =
          "Removes what weftctl inject added, either form: the weft-init and weft-proxy\n"
          "containers, the volumes and annotations of the injection, and the annotation\n"
          "weft.io/inject: enabled. Documents without them are written back byte for byte.",
      .flags = {
          flags::list("filename", &UninjectOptions::files,
                      "a manifest file or folder, '-' for stdin; repeatable (-f)")
              .value_name("FILE")
              .shown_default("stdin"),
          flags::integer("max-document-nodes", &UninjectOptions::max_document_nodes, 1, 1LL << 40,
                         "refuse a document expanding to more nodes (aliases)"),
          flags::integer("max-document-bytes", &UninjectOptions::max_document_bytes, 1, 1LL << 40,
                         "refuse a document expanding to more bytes of text (aliases)"),
      }};
  return program;
}

// The command's flags (`-f` is --filename) into `options`; else the exit
// status: 0 after --help, 2 for a usage error.
template <typename Options>
int parse_command(Context& context, std::string_view command,
                  const flags::Program<Options>& program, const std::vector<std::string>& args,
                  std::optional<Options>& options) {
  auto parsed = flags::parse(program, expand_short_flags(args, {{'f', "filename"}}));
  if (!parsed) {
    context.err << "weftctl " << command << ": " << terminal_safe(parsed.error().message)
                << " (see --help)\n";
    return 2;
  }
  if (parsed->help) {
    context.out << flags::usage(program);
    return 0;
  }
  options = std::move(parsed->options);
  return 0;
}

// A folder's manifests, as kubectl -f reads one: its .yaml, .yml and .json
// files (not its subfolders), sorted by name.
std::vector<std::string> manifests_in(const std::string& folder) {
  std::vector<std::string> paths;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const auto extension = entry.path().extension();
    if (entry.is_regular_file(error) &&
        (extension == ".yaml" || extension == ".yml" || extension == ".json")) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Reads every input; "-" (or none given) is stdin, read once.
Result<std::vector<inject::ManifestInput>> read_inputs(const std::vector<std::string>& files,
                                                       std::istream& in) {
  std::vector<inject::ManifestInput> inputs;
  std::optional<std::string> stdin_text;
  const std::vector<std::string> names = files.empty() ? std::vector<std::string>{"-"} : files;
  for (const auto& name : names) {
    if (name == "-") {
      if (!stdin_text) stdin_text = std::string(std::istreambuf_iterator<char>(in), {});
      inputs.push_back({"stdin", *stdin_text});
      continue;
    }
    std::vector<std::string> paths = {name};
    std::error_code error;
    if (std::filesystem::is_directory(name, error)) paths = manifests_in(name);
    for (const auto& path : paths) {
      auto text = read_file(path);
      if (!text) return Error{text.error().message};
      inputs.push_back({path, std::move(*text)});
    }
  }
  return inputs;
}

// Reads, transforms, and writes all or nothing.
int run_stream(Context& context, std::string_view command, const std::vector<std::string>& files,
               const inject::TemplateTransform& transform, const inject::ReadLimits& limits) {
  auto inputs = read_inputs(files, context.in);
  if (!inputs) {
    context.err << "weftctl " << command << ": " << terminal_safe(inputs.error().message) << "\n";
    return 1;
  }
  inject::StreamOptions options;
  options.default_namespace = context.namespace_or_default();
  options.limits = limits;
  auto output = inject::transform_manifests(*inputs, transform, options);
  if (!output) {
    context.err << "weftctl " << command << ": " << terminal_safe(output.error().message) << "\n";
    return 1;
  }
  for (const auto& note : output->notes)
    context.err << "weftctl " << command << ": " << terminal_safe(note) << "\n";
  context.out << output->text;
  context.out.flush();
  return 0;
}

}  // namespace

int inject_command(Context& context, const std::vector<std::string>& args) {
  std::optional<InjectOptions> parsed;
  if (const int status = parse_command(context, "inject", inject_program(), args, parsed);
      !parsed) {
    return status;
  }
  const auto& options = *parsed;
  if (options.manual && options.annotate_only) {
    context.err << "weftctl inject: --manual and --annotate-only exclude each other\n";
    return 2;
  }
  const bool asks_for_config = !options.source.config_file.empty() ||
                               !options.source.kubernetes_version.empty() ||
                               options.source.config_map != inject::kWebhookConfigMap;
  if (!options.manual && asks_for_config) {
    context.err << "weftctl inject: --injector-config, --webhook-config-map and "
                   "--kubernetes-version apply to --manual only\n";
    return 2;
  }

  std::optional<webhook::Injector> injector;
  if (options.manual) {
    auto loaded = inject::load_injector(options.source, context.client);
    if (!loaded) {
      context.err << "weftctl inject: " << terminal_safe(loaded.error().message) << "\n";
      return 1;
    }
    for (const auto& note : loaded->notes)
      context.err << "weftctl inject: " << terminal_safe(note) << "\n";
    injector.emplace(std::move(loaded->config));
  }
  const InjectMode mode = options.manual ? InjectMode::kManual : InjectMode::kAnnotate;
  const webhook::Injector* injector_ptr = injector ? &*injector : nullptr;
  return run_stream(
      context, "inject", options.files,
      [&](const inject::Json& pod, std::string_view ns) {
        return inject::inject_pod_template(pod, ns, mode, injector_ptr);
      },
      read_limits(options));
}

int uninject_command(Context& context, const std::vector<std::string>& args) {
  std::optional<UninjectOptions> parsed;
  if (const int status = parse_command(context, "uninject", uninject_program(), args, parsed);
      !parsed) {
    return status;
  }
  return run_stream(
      context, "uninject", parsed->files,
      [](const inject::Json& pod, std::string_view) -> Result<inject::TemplateOutcome> {
        return inject::uninject_pod_template(pod);
      },
      read_limits(*parsed));
}

}  // namespace weft::ctl
