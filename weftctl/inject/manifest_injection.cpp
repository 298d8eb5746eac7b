#include "weftctl/inject/manifest_injection.h"

#include <algorithm>

#include "weftctl/inject/manifest_stream.h"
#include "weftctl/inject/workloads.h"
#include "weftctl/json_depth.h"

namespace weft::ctl::inject {
namespace {

constexpr int kMaxListDepth = 8;

std::string string_at(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string metadata_field(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto metadata = object.find("metadata");
  return metadata == object.end() ? std::string{} : string_at(*metadata, key);
}

// "Deployment shop/web", for notes and errors.
std::string describe(const Json& object) {
  std::string kind = string_at(object, "kind");
  if (kind.empty()) kind = "object";
  const std::string ns = metadata_field(object, "namespace");
  std::string name = metadata_field(object, "name");
  if (name.empty()) name = metadata_field(object, "generateName") + "*";
  return kind + " " + (ns.empty() ? "" : ns + "/") + name;
}

// Where a failure is: the document, and the line of the closest node known.
struct Place {
  const std::string* input;
  int document;
  int first_line;            // of the document's text, in the input
  const ReadDocument* read;  // its YAML tree finds a node's line; none for JSON

  int line_of(const std::string& pointer) const {
    const int line = read != nullptr ? read->line_of(pointer) : 0;
    return line > 0 ? first_line + line - 1 : first_line;
  }
  Error error(const std::string& pointer, const std::string& message) const {
    return Error{*input + ": document " + std::to_string(document) + " (line " +
                 std::to_string(line_of(pointer)) + "): " + message};
  }
};

class DocumentTransformer {
 public:
  DocumentTransformer(const TemplateTransform& transform, const StreamOptions& options,
                      std::vector<std::string>& notes)
      : transform_(transform), options_(options), notes_(notes) {}

  // Changes `object` in place; true if anything changed.
  Result<bool> object(Json& object, const Place& place, const std::string& pointer, int depth) {
    const std::string note_prefix =
        *place.input + ": document " + std::to_string(place.document) + ": ";
    if (!object.is_object()) {
      notes_.push_back(note_prefix + "not an object, passed through");
      return false;
    }
    const std::string kind = string_at(object, "kind");
    const std::string api_version = string_at(object, "apiVersion");
    if (is_list_kind(kind) && object.contains("items")) {
      Json& items = object["items"];
      if (!items.is_array())
        return place.error(pointer + "/items", kind + ": items must be a list");
      if (depth >= kMaxListDepth) return place.error(pointer, "lists nest too deep");
      bool changed = false;
      for (std::size_t i = 0; i < items.size(); ++i) {
        auto item =
            this->object(items[i], place, pointer + "/items/" + std::to_string(i), depth + 1);
        if (!item) return item.error();
        changed |= *item;
      }
      return changed;
    }
    const auto template_pointer = pod_template_pointer(api_version, kind);
    if (!template_pointer) {
      notes_.push_back(note_prefix + describe(object) + ": no pod template (" +
                       (api_version.empty() ? std::string("no apiVersion") : api_version) +
                       "), passed through unchanged");
      return false;
    }
    const Json::json_pointer at(*template_pointer);
    if (!object.contains(at) || !object.at(at).is_object()) {
      return place.error(pointer + *template_pointer,
                         describe(object) + " has no pod template at " + *template_pointer);
    }
    std::string ns = metadata_field(object, "namespace");
    if (ns.empty()) ns = options_.default_namespace;
    auto outcome = transform_(object.at(at), ns);
    if (!outcome) {
      return place.error(pointer + *template_pointer,
                         describe(object) + ": " + outcome.error().message);
    }
    notes_.push_back(note_prefix + describe(object) + ": " + outcome->what);
    for (const auto& warning : outcome->warnings) {
      notes_.push_back(note_prefix + describe(object) + ": warning: " + warning);
    }
    if (!outcome->changed) return false;
    object.at(at) = std::move(outcome->pod);
    return true;
  }

 private:
  const TemplateTransform& transform_;
  const StreamOptions& options_;
  std::vector<std::string>& notes_;
};

Result<std::vector<DocumentText>> split(const ManifestInput& input, StreamFormat format) {
  if (format == StreamFormat::kYaml) return split_yaml_stream(input.text);
  auto pieces = split_json_stream(input.text);
  if (!pieces) {
    return Error{input.name + ": line " + std::to_string(pieces.error().line) + ": " +
                 pieces.error().message};
  }
  return *pieces;
}

Result<ReadDocument> read(const DocumentText& piece, StreamFormat format, const Place& place,
                          const ReadLimits& limits) {
  if (format == StreamFormat::kYaml) {
    const std::string text = piece.text();
    auto document = read_yaml_document(text, limits);
    if (!document) {
      // The parser reports an unclosed node at the end of the text, the line
      // after the document's last one: name that last line instead.
      const int last =
          std::max<int>(1, static_cast<int>(std::count(text.begin(), text.end(), '\n')) +
                               (text.ends_with('\n') ? 0 : 1));
      const int line = document.error().line > 0
                           ? place.first_line + std::min(document.error().line, last) - 1
                           : place.first_line;
      return Error{*place.input + ": document " + std::to_string(place.document) + " (line " +
                   std::to_string(line) + "): " + document.error().message};
    }
    return *document;
  }
  // Checked before the DOM is built: copying or printing one deeper crashes.
  if (!json_depth_within(piece.body)) {
    return place.error(
        "", "the document nests deeper than " + std::to_string(kMaxDocumentDepth) + " levels");
  }
  ReadDocument document;
  try {
    document.value = Json::parse(piece.body);
  } catch (const Json::parse_error& e) {
    const auto upto = std::min<std::size_t>(e.byte, piece.body.size());
    const int line = place.first_line + static_cast<int>(std::count(
                                            piece.body.begin(), piece.body.begin() + upto, '\n'));
    return Error{*place.input + ": document " + std::to_string(place.document) + " (line " +
                 std::to_string(line) + "): " + e.what()};
  }
  return document;
}

bool has_content(const DocumentText& piece) {
  return piece.body.find_first_not_of(" \t\r\n") != std::string::npos;
}

// Joining streams: YAML ones need a `---` between them.
void append_stream(std::string& out, const std::string& text, StreamFormat format) {
  if (!out.empty() && out.back() != '\n') out += '\n';
  if (!out.empty() && format == StreamFormat::kYaml && !text.starts_with("---")) out += "---\n";
  out += text;
}

}  // namespace

Result<StreamOutput> transform_manifests(const std::vector<ManifestInput>& inputs,
                                         const TemplateTransform& transform,
                                         const StreamOptions& options) {
  StreamOutput output;
  DocumentTransformer transformer(transform, options, output.notes);
  for (const auto& input : inputs) {
    const StreamFormat format = detect_format(input.text);
    auto pieces = split(input, format);
    if (!pieces) return pieces.error();
    std::string text;
    int document_number = 0;
    for (const auto& piece : *pieces) {
      if (!has_content(piece)) {
        text += piece.text();
        continue;
      }
      ++document_number;
      // Lines of a YAML error count from the piece's text, of JSON from its value.
      Place place{&input.name, document_number,
                  format == StreamFormat::kYaml ? piece.first_line : piece.body_line, nullptr};
      auto document = read(piece, format, place, options.limits);
      if (!document) return document.error();
      place.read = &*document;
      if (document->value.is_null()) {  // comments only
        text += piece.text();
        continue;
      }
      auto changed = transformer.object(document->value, place, "", 0);
      if (!changed) return changed.error();
      text += *changed ? rewrite_document(piece, document->value, format) : piece.text();
    }
    append_stream(output.text, text, format);
  }
  return output;
}

}  // namespace weft::ctl::inject
