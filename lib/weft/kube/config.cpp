#include "weft/kube/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <vector>

#include "weft/base64.h"
#include "weft/file.h"

namespace weft::kube {

namespace {

ApiError config_error(std::string detail) {
  return make_error(ErrorKind::kConfig, "load client configuration", std::move(detail));
}

// A file the configuration names; `what` says which ("kubeconfig", "tokenFile").
Result<std::string> read_named_file(const std::filesystem::path& path, std::string_view what) {
  auto content = weft::read_file(path);
  if (!content) return config_error(fmt::format("{} file: {}", what, content.error().message));
  return std::move(*content);
}

// One named entry (cluster, user or context) with the directory of the file
// that defined it, against which its relative paths resolve.
struct Entry {
  YAML::Node node;
  std::filesystem::path base_dir;
};

struct Kubeconfig {
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string current_context;
};

// Adds the entries of one file; names already present are kept (first file wins).
void merge_section(const YAML::Node& root, const char* list_key, const char* item_key,
                   const std::filesystem::path& base_dir, std::map<std::string, Entry>& into) {
  const YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return;
  if (!list.IsSequence())
    throw YAML::Exception(list.Mark(), std::string(list_key) + " is not a list");
  for (const auto& item : list) {
    if (!item.IsMap() || !item["name"]) {
      throw YAML::Exception(item.Mark(), std::string(list_key) + " entry without a name");
    }
    auto name = item["name"].as<std::string>();
    YAML::Node body = item[item_key];
    into.try_emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), base_dir});
  }
}

Result<Done> merge_file(std::string_view yaml_text, const std::filesystem::path& base_dir,
                        std::string_view origin, Kubeconfig& into) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsNull()) return Done{};  // an empty file adds nothing, as kubectl
    if (!root.IsMap()) return config_error(fmt::format("{}: not a kubeconfig mapping", origin));
    merge_section(root, "clusters", "cluster", base_dir, into.clusters);
    merge_section(root, "users", "user", base_dir, into.users);
    merge_section(root, "contexts", "context", base_dir, into.contexts);
    if (into.current_context.empty() && root["current-context"] &&
        !root["current-context"].IsNull()) {
      into.current_context = root["current-context"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return config_error(fmt::format("{}: invalid kubeconfig YAML: {}", origin, e.what()));
  }
  return Done{};
}

std::string string_field(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && !value.IsNull() ? value.as<std::string>() : std::string();
}

std::filesystem::path resolve(const std::filesystem::path& base_dir, const std::string& file) {
  std::filesystem::path path(file);
  return path.is_relative() ? base_dir / path : path;
}

// PEM material from "<key>-data" (base64) or "<key>" (a file), "" if neither.
Result<std::string> pem_field(const Entry& entry, const std::string& key) {
  std::string data = string_field(entry.node, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) return config_error(fmt::format("{}-data is not valid base64", key));
    return std::move(*decoded);
  }
  std::string file = string_field(entry.node, key.c_str());
  if (!file.empty()) return read_named_file(resolve(entry.base_dir, file), key);
  return std::string();
}

Result<ClientConfig> resolve_context(const Kubeconfig& kubeconfig, std::string_view chosen,
                                     std::string_view origin) {
  std::string context_name = chosen.empty() ? kubeconfig.current_context : std::string(chosen);
  if (context_name.empty()) {
    return config_error(fmt::format("{}: no current-context set and no context chosen", origin));
  }
  auto context = kubeconfig.contexts.find(context_name);
  if (context == kubeconfig.contexts.end()) {
    return config_error(fmt::format("{}: context \"{}\" not found", origin, context_name));
  }
  try {
    ClientConfig config;
    config.source = fmt::format("kubeconfig {} (context {})", origin, context_name);
    config.default_namespace = string_field(context->second.node, "namespace");

    std::string cluster_name = string_field(context->second.node, "cluster");
    auto cluster = kubeconfig.clusters.find(cluster_name);
    if (cluster == kubeconfig.clusters.end()) {
      return config_error(fmt::format("{}: cluster \"{}\" of context \"{}\" not found", origin,
                                      cluster_name, context_name));
    }
    config.server = string_field(cluster->second.node, "server");
    if (config.server.empty()) {
      return config_error(fmt::format("{}: cluster \"{}\" has no server", origin, cluster_name));
    }
    while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
    auto in_file = [&](const ApiError& error) {
      return config_error(fmt::format("{}: {}", origin, error.detail));
    };
    auto ca = pem_field(cluster->second, "certificate-authority");
    if (!ca) return in_file(ca.error());
    config.ca_pem = std::move(*ca);
    if (auto insecure = cluster->second.node["insecure-skip-tls-verify"]; insecure) {
      config.insecure_skip_tls_verify = insecure.as<bool>();
    }
    config.tls_server_name = string_field(cluster->second.node, "tls-server-name");

    std::string user_name = string_field(context->second.node, "user");
    if (user_name.empty()) return config;  // anonymous
    auto user = kubeconfig.users.find(user_name);
    if (user == kubeconfig.users.end()) {
      return config_error(fmt::format("{}: user \"{}\" of context \"{}\" not found", origin,
                                      user_name, context_name));
    }
    const YAML::Node& u = user->second.node;
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      if (u[unsupported]) {
        return config_error(fmt::format(
            "{}: user \"{}\" uses \"{}\", which is not supported (use a client certificate or "
            "a token)",
            origin, user_name, unsupported));
      }
    }
    auto cert = pem_field(user->second, "client-certificate");
    if (!cert) return in_file(cert.error());
    auto key = pem_field(user->second, "client-key");
    if (!key) return in_file(key.error());
    if (cert->empty() != key->empty()) {
      return config_error(
          fmt::format("{}: user \"{}\" has a client certificate without a key or "
                      "a key without a certificate",
                      origin, user_name));
    }
    config.client_cert_pem = std::move(*cert);
    config.client_key_pem = std::move(*key);
    config.bearer_token = string_field(u, "token");
    std::string token_file = string_field(u, "tokenFile");
    if (!token_file.empty()) {
      config.token_file = resolve(user->second.base_dir, token_file).string();
      auto readable = read_named_file(config.token_file, "tokenFile");
      if (!readable) return in_file(readable.error());
    }
    return config;
  } catch (const YAML::Exception& e) {
    return config_error(fmt::format("{}: invalid kubeconfig: {}", origin, e.what()));
  }
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

Result<ClientConfig> parse_kubeconfig(std::string_view yaml_text,
                                      const std::filesystem::path& base_dir,
                                      std::string_view context) {
  Kubeconfig kubeconfig;
  auto merged = merge_file(yaml_text, base_dir, "kubeconfig", kubeconfig);
  if (!merged) return merged.error();
  return resolve_context(kubeconfig, context, "kubeconfig");
}

Result<ClientConfig> load_kubeconfig(const std::filesystem::path& path, std::string_view context) {
  auto text = read_named_file(path, "kubeconfig");
  if (!text) return text.error();
  Kubeconfig kubeconfig;
  auto merged = merge_file(*text, path.parent_path(), path.string(), kubeconfig);
  if (!merged) return merged.error();
  return resolve_context(kubeconfig, context, path.string());
}

Result<ClientConfig> load_kubeconfig_list(std::string_view colon_separated_paths,
                                          std::string_view context) {
  Kubeconfig kubeconfig;
  std::vector<std::string> loaded;
  std::string_view rest = colon_separated_paths;
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::filesystem::path path(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) continue;
    auto text = read_named_file(path, "kubeconfig");
    if (!text) return text.error();
    auto merged = merge_file(*text, path.parent_path(), path.string(), kubeconfig);
    if (!merged) return merged.error();
    loaded.push_back(path.string());
  }
  if (loaded.empty()) {
    return config_error(
        fmt::format("none of the kubeconfig files \"{}\" exists", colon_separated_paths));
  }
  std::string origin;
  for (const auto& path : loaded) origin += (origin.empty() ? "" : ":") + path;
  return resolve_context(kubeconfig, context, origin);
}

std::string url_authority(std::string_view host, std::string_view port) {
  const bool ipv6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

Result<ClientConfig> load_in_cluster_config(const std::filesystem::path& dir, std::string_view host,
                                            std::string_view port) {
  if (host.empty() || port.empty()) {
    return config_error(
        "not in a cluster: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset");
  }
  ClientConfig config;
  config.source = fmt::format("in-cluster ({})", dir.string());
  config.server = "https://" + url_authority(host, port);
  config.token_file = (dir / "token").string();
  auto token = read_named_file(config.token_file, "service-account token");
  if (!token) return token.error();
  auto ca = read_named_file(dir / "ca.crt", "service-account CA");
  if (!ca) return ca.error();
  config.ca_pem = std::move(*ca);
  config.ca_file = (dir / "ca.crt").string();
  // The namespace file is optional (a projected volume may leave it out).
  if (auto ns = read_named_file(dir / "namespace", "namespace")) {
    config.default_namespace = *ns;
    while (!config.default_namespace.empty() &&
           std::isspace(static_cast<unsigned char>(config.default_namespace.back()))) {
      config.default_namespace.pop_back();
    }
  }
  return config;
}

Result<ClientConfig> load_in_cluster_config() {
  std::string dir = env(std::string(kServiceAccountDirEnv).c_str());
  if (dir.empty()) dir = kServiceAccountDir;
  return load_in_cluster_config(dir, env("KUBERNETES_SERVICE_HOST"),
                                env("KUBERNETES_SERVICE_PORT"));
}

Result<ClientConfig> load_default_config(std::string_view explicit_kubeconfig,
                                         std::string_view context) {
  if (!explicit_kubeconfig.empty()) {
    return load_kubeconfig(std::filesystem::path(explicit_kubeconfig), context);
  }
  std::string kubeconfig_env = env("KUBECONFIG");
  // A named context lives in a kubeconfig: in-cluster configuration has none.
  if (context.empty() && !env("KUBERNETES_SERVICE_HOST").empty()) {
    auto in_cluster = load_in_cluster_config();
    // In a pod without a mounted token, $KUBECONFIG may still say where to go.
    if (in_cluster || kubeconfig_env.empty()) return in_cluster;
  }
  if (!kubeconfig_env.empty()) return load_kubeconfig_list(kubeconfig_env, context);
  std::string home = env("HOME");
  if (!home.empty()) {
    std::filesystem::path path = std::filesystem::path(home) / ".kube" / "config";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return load_kubeconfig(path, context);
  }
  return config_error(
      "no configuration found: pass --kubeconfig, run in a pod (KUBERNETES_SERVICE_HOST), set "
      "$KUBECONFIG, or create ~/.kube/config");
}

}  // namespace weft::kube
