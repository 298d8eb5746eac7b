#pragma once

// `diagnose config POD`: which document a proxy serves, against the one its
// namespace's ConfigMap holds. Pure: the proxy's /version answer and the
// ConfigMap are given.

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::ctl::diagnose {

// The proxy's /version: {"version": "v0.1.0", "configHash": "sha256:..." | null}.
struct ProxyVersion {
  std::string version{};
  std::optional<std::string> config_hash{};  // unset: no document loaded yet
};

Result<ProxyVersion> parse_proxy_version(std::string_view body);

struct ConfigCheck {
  std::string ns{};
  std::string pod{};
  ProxyVersion proxy{};
  // The ConfigMap's hash (its weft.io/config-hash annotation, else the
  // document's own "hash"); unset with `config_map_problem` when it could not
  // be read.
  std::optional<std::string> config_map_hash{};
  std::string config_map_problem{};
  nlohmann::json document{};  // the document itself when readable, else null

  // The proxy serves what its ConfigMap holds.
  bool matches() const {
    return proxy.config_hash && config_map_hash && *proxy.config_hash == *config_map_hash;
  }
};

// The ConfigMap's hash and document: from the annotation and data, or why not.
struct ConfigMapDocument {
  std::optional<std::string> hash{};
  nlohmann::json document{};  // null when the data is missing or not JSON
  std::string problem{};      // set when no hash could be found
};
ConfigMapDocument read_config_map(const nlohmann::json& config_map);

nlohmann::json config_check_json(const ConfigCheck& check);
// Lines of ✓/× with what to do; `show_document` prints the document after them.
void render_config_check(const ConfigCheck& check, bool color, bool show_document,
                         std::ostream& out);

}  // namespace weft::ctl::diagnose
