#pragma once

// A stream of manifests cut into its documents at the text level, so that a
// document nobody changes is written back byte for byte (comments, anchors,
// quoting, key order) and only a changed one is written anew.
//
// YAML: a document starts at a `---` line and ends before the next one, or
// after a `...` line; `%` directive lines go with the document after them.
// JSON (the text starts with `{` or `[`): one or more values one after the
// other, as `kubectl apply -f` reads them. Every byte of the text belongs to
// exactly one piece, so joining the pieces gives the text back.

#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"
#include "weftctl/inject/yaml_json.h"

namespace weft::ctl::inject {

enum class StreamFormat { kYaml, kJson };

// One document's text, in three parts: what stays around it when it is
// rewritten (the `---` line, the comments before and after it: Helm's
// `# Source:` lines) and the body in between.
struct DocumentText {
  std::string head;  // `---` line and leading comment or blank lines
  std::string body;
  std::string tail;   // trailing comment or blank lines, a `...` line
  int body_line = 1;  // the body's first line in the stream, 1-based
  // The document's own first line (the first line of `head`, else of `body`).
  int first_line = 1;
  std::string text() const { return head + body + tail; }
};

StreamFormat detect_format(std::string_view text);

// The documents of a YAML stream. A stream that starts with a `---` line
// yields an empty first piece (head, body and tail empty) only if something
// precedes that line; comments before the first `---` are a piece of their own.
std::vector<DocumentText> split_yaml_stream(std::string_view text);

// The values of a JSON stream; an Error (TextError) names the line where the
// stream stops being one: an unterminated value, or text between values.
Result<std::vector<DocumentText>, TextError> split_json_stream(std::string_view text);

// A rewritten document: the body replaced, head and tail kept. A YAML body is
// block YAML; a JSON one is indented as the original was (compact when it was
// on one line).
std::string rewrite_document(const DocumentText& original, const Json& value, StreamFormat format);

}  // namespace weft::ctl::inject
