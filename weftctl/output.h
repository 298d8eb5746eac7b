#pragma once

// How weftctl writes what it found: JSON and YAML for machines (-o json|yaml),
// aligned tables for people, and the check marks, coloured only on a terminal.

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace weft::ctl {

// Indented JSON and a final newline.
void write_json(std::ostream& out, const nlohmann::json& value);
// The same value as one YAML document (yaml-cpp's emitter). Strings that YAML
// would read back as something else ("true", "1.0", "null", "") are quoted.
void write_yaml(std::ostream& out, const nlohmann::json& value);

// Columns separated by at least two spaces, each as wide as its widest cell,
// measured in characters (not bytes) and ignoring colour escapes. Cells past the
// header's count are kept; missing ones are empty.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  void render(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// The width of text on a terminal: UTF-8 code points, colour escapes skipped.
std::size_t display_width(std::string_view text);

// Text from a pod, a cluster object or a manifest, made safe to print on a
// terminal: control characters (C0, DEL, C1) and bytes that are not UTF-8
// are written as escapes (\x1B, \u009B), so such text cannot move the cursor,
// rewrite earlier lines, hide output or set the clipboard (OSC 52).
std::string terminal_safe(std::string_view text);

// ✓ ‼ ×: green, yellow and red when `color`.
std::string mark_ok(bool color);
std::string mark_warn(bool color);
std::string mark_fail(bool color);
// Text in bold red / green / yellow when `color`, else unchanged.
std::string red(std::string_view text, bool color);
std::string green(std::string_view text, bool color);
std::string yellow(std::string_view text, bool color);

}  // namespace weft::ctl
