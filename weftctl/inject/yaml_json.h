#pragma once

// One YAML document as the JSON object Kubernetes reads from it, and back.
//
// Reading follows what kubectl does (sigs.k8s.io/yaml, YAML 1.1 scalars): a
// plain `yes`/`on`/`y` is a boolean, `0644` an octal integer, `1_000` an
// integer, `<<: *anchor` merges a mapping, aliases are expanded. Key order is
// kept (ordered_json), so a document written back lists its keys as it did.
//
// Writing gives block-style YAML that reads back to the same JSON: a string
// that could read as anything else (`"8080"`, `"true"`, `"2024-01-01"`) is
// double-quoted, a multi-line one becomes a literal block. Comments, anchors
// and the original quoting are not kept: the caller writes back the original
// text of every document it did not change.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::ctl::inject {

using Json = nlohmann::ordered_json;

// An error at a place in the text (lines and columns 1-based; 0: unknown).
struct TextError : Error {
  int line = 0;
  int column = 0;
};

// A node count beyond which expanding aliases is refused (a "billion laughs"
// document): real manifests have a few thousand nodes.
inline constexpr std::size_t kDefaultMaxDocumentNodes = 1'000'000;
// The bytes of text (keys and scalars) a document may expand to, aliases
// copied: the node limit alone lets an alias of a long string fill memory.
inline constexpr std::size_t kDefaultMaxDocumentBytes = 64u << 20;

struct ReadLimits {
  std::size_t max_nodes = kDefaultMaxDocumentNodes;
  std::size_t max_bytes = kDefaultMaxDocumentBytes;
};

struct ReadDocument {
  Json value;           // null for a document holding only comments
  YAML::Node source{};  // the parsed tree, for the line of a node in errors

  // The 1-based line of the node at a JSON pointer ("/spec/template"), or of
  // the closest node above it found in the text; 0 when there is no tree.
  int line_of(std::string_view pointer) const;
};

// Parses one YAML document (the text of one document of a stream) into JSON.
// Refused, as kubectl would read them otherwise: tags outside the core schema
// (!!binary, !!timestamp, !!set, !local) and a merge key (<<) that sets a key
// written before it in the same mapping.
Result<ReadDocument, TextError> read_yaml_document(std::string_view text,
                                                   const ReadLimits& limits = {});

// The JSON value of a plain (unquoted) scalar as kubectl reads it: null, a
// boolean, an integer, a float, or the text itself.
Result<Json> resolve_plain_scalar(std::string_view text);

// How lists under a key are written: indented below it (Helm's charts), or
// level with it (kubectl's and kustomize's output).
struct YamlStyle {
  bool indent_sequences = true;
};

// The style of a document's text: that of its first list under a key.
YamlStyle detect_yaml_style(std::string_view text);

// The document as block YAML, ending with a newline.
std::string write_yaml_document(const Json& document, const YamlStyle& style = {});

}  // namespace weft::ctl::inject
