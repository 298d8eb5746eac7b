#include "weftctl/inject/manifest_stream.h"

#include <algorithm>

namespace weft::ctl::inject {
namespace {

struct Line {
  std::string_view text;  // with its line break, if any
  std::string_view content() const {
    std::string_view c = text;
    if (!c.empty() && c.back() == '\n') c.remove_suffix(1);
    if (!c.empty() && c.back() == '\r') c.remove_suffix(1);
    return c;
  }
};

std::vector<Line> lines_of(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back({text.substr(start, next - start)});
    start = next;
  }
  return lines;
}

// "---" or "..." alone or followed by a blank: a marker, even inside a block
// scalar (YAML forbids both at column 0 in content).
bool is_marker(std::string_view content, std::string_view marker) {
  if (!content.starts_with(marker)) return false;
  return content.size() == 3 || content[3] == ' ' || content[3] == '\t';
}

bool is_start(const Line& line) {
  return is_marker(line.content(), "---");
}
bool is_end(const Line& line) {
  return is_marker(line.content(), "...");
}

bool is_blank_or_comment(std::string_view content) {
  const auto first = content.find_first_not_of(" \t");
  return first == std::string_view::npos || content[first] == '#';
}

// The marker line holds nothing but the marker and maybe a comment.
bool is_bare_start(std::string_view content) {
  return is_blank_or_comment(content.substr(3));
}

// Column 0 only: in a document whose top node is a mapping (every one we
// rewrite), no content line there starts with '#'.
bool is_trailing_comment(std::string_view content) {
  return content.empty() || content[0] == '#' ||
         content.find_first_not_of(" \t") == std::string_view::npos;
}

DocumentText piece_of(const std::vector<Line>& lines, std::size_t begin, std::size_t end) {
  DocumentText piece;
  piece.first_line = static_cast<int>(begin) + 1;
  std::size_t head_end = begin;
  if (head_end < end && lines[head_end].content().starts_with('%')) {
    while (head_end < end && !is_start(lines[head_end])) ++head_end;
  }
  if (head_end < end && is_start(lines[head_end]) && is_bare_start(lines[head_end].content())) {
    ++head_end;
  }
  while (head_end < end && is_blank_or_comment(lines[head_end].content())) ++head_end;
  std::size_t tail_begin = end;
  while (tail_begin > head_end &&
         (is_trailing_comment(lines[tail_begin - 1].content()) || is_end(lines[tail_begin - 1]))) {
    --tail_begin;
  }
  for (std::size_t i = begin; i < head_end; ++i) piece.head += lines[i].text;
  for (std::size_t i = head_end; i < tail_begin; ++i) piece.body += lines[i].text;
  for (std::size_t i = tail_begin; i < end; ++i) piece.tail += lines[i].text;
  piece.body_line = static_cast<int>(head_end) + 1;
  return piece;
}

int line_at(std::string_view text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(
                 text.begin(),
                 text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n'));
}

// The end of the JSON value starting at text[begin] ('{' or '['): the offset
// after its closing bracket, or npos when it does not close.
std::size_t json_value_end(std::string_view text, std::size_t begin) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// The indentation of the value's second line (0: the value is on one line).
int json_indent(std::string_view body) {
  const auto newline = body.find('\n');
  if (newline == std::string_view::npos) return -1;
  const auto next = body.find_first_not_of(' ', newline + 1);
  if (next == std::string_view::npos || body[next] == '\n') return 2;
  return std::max<int>(1, static_cast<int>(next - newline - 1));
}

}  // namespace

StreamFormat detect_format(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    return StreamFormat::kJson;
  }
  return StreamFormat::kYaml;
}

std::vector<DocumentText> split_yaml_stream(std::string_view text) {
  const std::vector<Line> lines = lines_of(text);
  std::vector<DocumentText> pieces;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (is_start(lines[i]) && i > begin) {
      // Directives just before the marker open the next document.
      std::size_t cut = i;
      while (cut > begin && lines[cut - 1].content().starts_with('%')) --cut;
      if (cut > begin) {
        pieces.push_back(piece_of(lines, begin, cut));
        begin = cut;
      }
    } else if (is_end(lines[i])) {
      pieces.push_back(piece_of(lines, begin, i + 1));
      begin = i + 1;
    }
  }
  if (begin < lines.size() || pieces.empty())
    pieces.push_back(piece_of(lines, begin, lines.size()));
  return pieces;
}

Result<std::vector<DocumentText>, TextError> split_json_stream(std::string_view text) {
  std::vector<DocumentText> pieces;
  std::size_t offset = 0;
  while (true) {
    const auto start = text.find_first_not_of(" \t\r\n", offset);
    if (start == std::string_view::npos) {
      if (offset < text.size() || pieces.empty()) {
        DocumentText rest;
        rest.head = std::string(text.substr(offset));
        rest.first_line = rest.body_line = line_at(text, offset);
        pieces.push_back(std::move(rest));
      }
      return pieces;
    }
    if (text[start] != '{' && text[start] != '[') {
      TextError error;
      error.message = "expected a JSON object or list";
      error.line = line_at(text, start);
      return error;
    }
    const auto end = json_value_end(text, start);
    if (end == std::string_view::npos) {
      TextError error;
      error.message = "this JSON value does not end";
      error.line = line_at(text, start);
      return error;
    }
    DocumentText piece;
    piece.head = std::string(text.substr(offset, start - offset));
    piece.body = std::string(text.substr(start, end - start));
    piece.first_line = line_at(text, offset);
    piece.body_line = line_at(text, start);
    pieces.push_back(std::move(piece));
    offset = end;
  }
}

std::string rewrite_document(const DocumentText& original, const Json& value, StreamFormat format) {
  std::string body;
  if (format == StreamFormat::kJson) {
    body = value.dump(json_indent(original.body), ' ', false, Json::error_handler_t::replace);
  } else {
    // A marker line with content on it (`--- {...}`) was part of the body.
    if (original.body.starts_with("---")) body = "---\n";
    body += write_yaml_document(value, detect_yaml_style(original.body));
    // Blank lines after a kept literal block (|+) would join its text.
    std::string_view tail = original.tail;
    while (true) {
      const auto newline = tail.find('\n');
      if (newline == std::string_view::npos || tail.find_first_not_of(" \t\r") != newline) break;
      tail.remove_prefix(newline + 1);
    }
    return original.head + body + std::string(tail);
  }
  return original.head + body + original.tail;
}

}  // namespace weft::ctl::inject
