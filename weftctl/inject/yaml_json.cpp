#include "weftctl/inject/yaml_json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "weftctl/json_depth.h"

namespace weft::ctl::inject {
namespace {

// Thrown inside the walk, turned into a TextError at its edge.
struct WalkError {
  std::string message;
  YAML::Mark mark;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// kubectl's YAML reader (go-yaml v2) reads a plain scalar starting with
// four digits and '-' as a timestamp if it can; it is kept as text here.
bool looks_like_timestamp(std::string_view text) {
  if (text.size() < 5) return false;
  for (int i = 0; i < 4; ++i) {
    if (!is_digit(text[i])) return false;
  }
  return text[4] == '-';
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// Go's strconv.ParseUint(text, 0, 64) on digits without a sign: 0x, 0o, 0b
// and a leading 0 (octal) select the base.
std::optional<std::uint64_t> parse_go_unsigned(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'O')) {
    base = 8;
    text.remove_prefix(2);
  } else if (text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) {
    base = 2;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    const int digit = digit_value(c);
    if (digit >= base) return std::nullopt;
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

// go-yaml's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_yaml_float(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i - start;
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

std::optional<Json> resolve_number(std::string_view text) {
  std::string plain;
  for (const char c : text) {
    if (c != '_') plain += c;
  }
  std::string_view digits = plain;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (const auto magnitude = parse_go_unsigned(digits)) {
    constexpr auto kMaxSigned =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (negative && *magnitude <= kMaxSigned + 1) {
      return Json(static_cast<std::int64_t>(0 - *magnitude));
    }
    if (!negative && *magnitude <= kMaxSigned) return Json(static_cast<std::int64_t>(*magnitude));
    if (!negative && plain[0] != '+') return Json(*magnitude);
  }
  if (is_yaml_float(plain)) {
    double value = 0;
    const char* begin = plain.data() + (plain[0] == '+' ? 1 : 0);
    const auto [end, error] = std::from_chars(begin, plain.data() + plain.size(), value);
    if (error == std::errc() && end == plain.data() + plain.size()) return Json(value);
  }
  return std::nullopt;
}

// A mapping key as kubectl's reader gives it: a plain key is resolved like a
// value (YAML 1.1: `y` and `on` are true, `0x1f` is 31) and written back as
// text ("true", "31"); what it would spell its own way (floats) or refuse
// (null, a collection) is refused.
std::string key_text(const YAML::Node& key) {
  if (!key.IsScalar() || key.IsNull()) {
    throw WalkError{"a mapping key must be a string (kubectl refuses a null or a collection)",
                    key.Mark()};
  }
  const std::string& tag = key.Tag();
  const std::string& text = key.Scalar();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
  if (tag != "?") {
    throw WalkError{"the key tag '" + tag + "' is refused: kubectl may read the key differently",
                    key.Mark()};
  }
  auto value = resolve_plain_scalar(text);
  if (!value) throw WalkError{value.error().message, key.Mark()};
  if (value->is_string()) return text;
  if (value->is_boolean()) return value->get<bool>() ? "true" : "false";
  if (value->is_number_integer() && !value->is_number_unsigned()) {
    return std::to_string(value->get<std::int64_t>());
  }
  // Unsigned: above int64, a key kubectl refuses.
  throw WalkError{
      "the key '" + text + "' reads as a number kubectl spells its own way or refuses: quote it",
      key.Mark()};
}

constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";

// The core schema's tags kubectl and weftctl read alike. Any other explicit
// tag (!!binary, !!timestamp, !!set, a local !foo) is refused: go-yaml decodes
// some of them (base64 for !!binary) where yaml-cpp keeps the text.
bool is_core_tag(std::string_view tag, YAML::NodeType::value type) {
  if (tag.empty() || tag == "?" || tag == "!") return true;
  if (!tag.starts_with(kCoreTag)) return false;
  const std::string_view name = tag.substr(kCoreTag.size());
  switch (type) {
    case YAML::NodeType::Map:
      return name == "map";
    case YAML::NodeType::Sequence:
      return name == "seq";
    default:
      return name == "str" || name == "int" || name == "bool" || name == "null" || name == "float";
  }
}

// A value that can hold the tag's type: `!!int abc` is an error to kubectl.
bool matches_tag(std::string_view name, const Json& value) {
  if (name == "int") return value.is_number_integer();
  if (name == "float") return value.is_number();
  if (name == "bool") return value.is_boolean();
  if (name == "null") return value.is_null();
  return true;
}

// `<<` unquoted, or tagged !!merge: a merge key to kubectl's reader too.
bool is_merge_key(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" &&
         (key.Tag() == "?" || key.Tag() == std::string(kCoreTag) + "merge");
}

// Expands the YAML tree into JSON, counting nodes and the bytes of the text
// copied: an alias bomb stops at either limit, not when memory runs out.
// Paths are not kept per node (a bomb of long keys made them the cost); the
// line of a node is found again from the tree when an error needs it.
class Walker {
 public:
  explicit Walker(const ReadLimits& limits) : limits_(limits) {}

  Json walk(const YAML::Node& node, int depth) {
    if (++nodes_ > limits_.max_nodes) {
      throw WalkError{"the document expands to more than " + std::to_string(limits_.max_nodes) +
                          " nodes (aliases of aliases?)",
                      node.Mark()};
    }
    if (depth > kMaxDocumentDepth) throw WalkError{"the document nests too deep", node.Mark()};
    if (!is_core_tag(node.Tag(), node.Type())) {
      throw WalkError{"the tag '" + node.Tag() +
                          "' is refused: kubectl may read the node differently (only the core "
                          "schema's tags are read)",
                      node.Mark()};
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        Json list = Json::array();
        for (const auto& item : node) list.push_back(walk(item, depth + 1));
        return list;
      }
      case YAML::NodeType::Map:
        return mapping(node, depth);
    }
    return nullptr;
  }

 private:
  void count_bytes(std::size_t bytes, const YAML::Mark& mark) {
    bytes_ += bytes;
    if (bytes_ > limits_.max_bytes) {
      throw WalkError{"the document expands to more than " + std::to_string(limits_.max_bytes) +
                          " bytes of text (aliases of aliases?)",
                      mark};
    }
  }

  Json scalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    count_bytes(text.size(), node.Mark());
    // "!" is a quoted or block scalar: text. "?" is plain: resolved.
    if (tag == "!" || tag == std::string(kCoreTag) + "str") return text;
    auto value = resolve_plain_scalar(text);
    if (!value) throw WalkError{value.error().message, node.Mark()};
    if (tag != "?" && !matches_tag(std::string_view(tag).substr(kCoreTag.size()), *value)) {
      throw WalkError{"'" + text + "' does not read as a " + tag, node.Mark()};
    }
    return *value;
  }

  std::string key(const YAML::Node& node) {
    std::string text = key_text(node);
    count_bytes(text.size(), node.Mark());
    return text;
  }

  Json mapping(const YAML::Node& node, int depth) {
    Json object = Json::object();
    // Keys written so far: kubectl's reader applies a merge in document order,
    // so a merged key overwrites one written before the `<<` (and not one
    // after). weftctl would let the explicit key win: such a document is
    // refused rather than read one way here and another by kubectl.
    std::set<std::string, std::less<>> written;
    std::set<std::string, std::less<>> merged_keys;
    for (const auto& entry : node) {
      if (!is_merge_key(entry.first)) {
        const std::string name = key(entry.first);
        if (!written.insert(name).second) {
          throw WalkError{"the key '" + name + "' appears twice", entry.first.Mark()};
        }
        object[name] = walk(entry.second, depth + 1);
        continue;
      }
      std::vector<YAML::Node> sources;
      if (entry.second.IsMap()) {
        sources.push_back(entry.second);
      } else if (entry.second.IsSequence()) {
        for (const auto& source : entry.second) sources.push_back(source);
      }
      if (sources.empty()) {
        throw WalkError{"a merge key (<<) needs a mapping or a list of mappings",
                        entry.second.Mark()};
      }
      std::set<std::string, std::less<>> this_merge;
      for (const auto& source : sources) {
        if (!source.IsMap()) {
          throw WalkError{"a merge key (<<) needs a mapping or a list of mappings",
                          entry.second.Mark()};
        }
        const Json merged = walk(source, depth + 1);
        for (const auto& [name, value] : merged.items()) {
          if (written.contains(name)) {
            throw WalkError{"the merge key (<<) sets '" + name +
                                "', written before it: kubectl would take the merged value, "
                                "write the key after the merge",
                            entry.first.Mark()};
          }
          // A second `<<` of the same mapping overwrites the first for kubectl.
          if (merged_keys.contains(name) && !this_merge.contains(name)) {
            throw WalkError{"two merge keys (<<) set '" + name + "'", entry.first.Mark()};
          }
          // Of the mappings of one merge the first wins, for kubectl too.
          if (this_merge.insert(name).second) object[name] = value;
        }
      }
      merged_keys.merge(this_merge);
    }
    return object;
  }

  const ReadLimits& limits_;
  std::size_t nodes_ = 0;
  std::size_t bytes_ = 0;
};

// ---- writing ----

bool is_plain_safe_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
         c == '_' || c == '$' || c == '(' || c >= 0x80;
}

// U+0085, U+2028, U+2029 (line breaks to YAML) and U+FEFF (a byte order mark).
std::size_t special_unicode_at(std::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (i + 1 < text.size() && at(0) == 0xC2 && at(1) == 0x85) return 2;
  if (i + 2 < text.size() && at(0) == 0xE2 && at(1) == 0x80 && (at(2) == 0xA8 || at(2) == 0xA9))
    return 3;
  if (i + 2 < text.size() && at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF) return 3;
  return 0;
}

bool has_special_characters(std::string_view text, bool allow_newline) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' && allow_newline) continue;
    if (c < 0x20 || c == 0x7F || special_unicode_at(text, i) != 0) return true;
  }
  return false;
}

// "--flag" and "./run.sh" read back as text; "- x", "-1", ".5" and "---" would not
// (or not to every reader).
bool is_plain_safe_dash_or_dot(std::string_view text) {
  if (text.size() < 2 || text.starts_with("---") || text.starts_with("...")) return false;
  if (text[0] == '-') return text[1] != ' ' && text[1] != '\t';
  return text[0] == '.' && !is_digit(text[1]);
}

bool can_be_plain(std::string_view text) {
  if (text.empty()) return false;
  if (!is_plain_safe_start(static_cast<unsigned char>(text[0])) &&
      !is_plain_safe_dash_or_dot(text)) {
    return false;
  }
  // A leading digit: a number, a date or a sexagesimal 1:20 to some YAML 1.1
  // reader (PyYAML), if not to kubectl's.
  if (is_digit(text[0])) return false;
  const auto resolved = resolve_plain_scalar(text);
  if (!resolved || !resolved->is_string()) return false;
  if (text.back() == ' ' || text.back() == ':') return false;
  if (text.find(": ") != std::string_view::npos || text.find(" #") != std::string_view::npos) {
    return false;
  }
  return !has_special_characters(text, false);
}

void append_double_quoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (const std::size_t length = special_unicode_at(text, i); length != 0) {
      const std::string_view sequence = text.substr(i, length);
      out += sequence == "\xC2\x85"       ? "\\u0085"
             : sequence == "\xE2\x80\xA8" ? "\\u2028"
             : sequence == "\xE2\x80\xA9" ? "\\u2029"
                                          : "\\uFEFF";
      i += length - 1;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// A literal block (|) reads back exactly only for some texts: lines of
// printable characters, the first line with content not starting with a space
// (it sets the indentation) and no line of spaces only.
bool can_be_literal(std::string_view text) {
  if (text.find('\n') == std::string_view::npos) return false;
  if (has_special_characters(text, true)) return false;
  std::string_view core = text;
  while (!core.empty() && core.back() == '\n') core.remove_suffix(1);
  bool seen_content = false;
  for (const auto line : split_lines(core)) {
    if (line.empty()) continue;
    if (line.find_first_not_of(" \t") == std::string_view::npos) return false;
    if (!seen_content && (line[0] == ' ' || line[0] == '\t')) return false;
    seen_content = true;
  }
  return seen_content;
}

void append_literal(std::string& out, std::string_view text, int indent) {
  std::size_t trailing = 0;
  while (trailing < text.size() && text[text.size() - 1 - trailing] == '\n') ++trailing;
  const std::string_view core = text.substr(0, text.size() - trailing);
  out += trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  for (const auto line : split_lines(core)) {
    if (!line.empty()) {
      out.append(static_cast<std::size_t>(indent), ' ');
      out += line;
    }
    out += '\n';
  }
  for (std::size_t i = 1; i < trailing; ++i) out += '\n';
}

void append_key(std::string& out, const std::string& key) {
  if (can_be_plain(key)) {
    out += key;
  } else {
    append_double_quoted(out, key);
  }
}

// A scalar or an empty collection after "key: " or "- ", and its line break.
void append_scalar(std::string& out, const Json& value, int indent) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (can_be_plain(text)) {
      out += text;
    } else if (can_be_literal(text)) {
      append_literal(out, text, indent);
      return;
    } else {
      append_double_quoted(out, text);
    }
  } else if (value.is_object()) {
    out += "{}";
  } else if (value.is_array()) {
    out += "[]";
  } else {
    out += value.dump();  // null, true, 42, 1.5: YAML reads them back the same
  }
  out += '\n';
}

void append_entries(std::string& out, const Json& object, int indent, const YamlStyle& style);
void append_items(std::string& out, const Json& list, int indent, const YamlStyle& style);

bool is_nested(const Json& value) {
  return (value.is_object() || value.is_array()) && !value.empty();
}

// After "key:" on a line indented by `indent`.
void append_value(std::string& out, const Json& value, int indent, const YamlStyle& style) {
  if (!is_nested(value)) {
    out += ' ';
    append_scalar(out, value, indent + 2);
    return;
  }
  out += '\n';
  if (value.is_object()) {
    append_entries(out, value, indent + 2, style);
  } else {
    append_items(out, value, style.indent_sequences ? indent + 2 : indent, style);
  }
}

void append_entries(std::string& out, const Json& object, int indent, const YamlStyle& style) {
  for (const auto& [key, value] : object.items()) {
    out.append(static_cast<std::size_t>(indent), ' ');
    append_key(out, key);
    out += ':';
    append_value(out, value, indent, style);
  }
}

void append_items(std::string& out, const Json& list, int indent, const YamlStyle& style) {
  for (const auto& item : list) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += "- ";
    if (!is_nested(item)) {
      append_scalar(out, item, indent + 2);
      continue;
    }
    // The first line of the nested block goes on the dash's line.
    std::string block;
    if (item.is_object()) {
      append_entries(block, item, indent + 2, style);
    } else {
      append_items(block, item, indent + 2, style);
    }
    out.append(block, static_cast<std::size_t>(indent) + 2);
  }
}

}  // namespace

Result<Json> resolve_plain_scalar(std::string_view text) {
  static const std::set<std::string_view> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string_view> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                                   "True", "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string_view> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                                    "False", "FALSE", "off", "Off", "OFF"};
  static const std::set<std::string_view> kNotJson = {".nan",  ".NaN",  ".NAN",  ".inf",
                                                      ".Inf",  ".INF",  "+.inf", "+.Inf",
                                                      "+.INF", "-.inf", "-.Inf", "-.INF"};
  if (kNull.contains(text)) return Json(nullptr);
  if (kTrue.contains(text)) return Json(true);
  if (kFalse.contains(text)) return Json(false);
  if (kNotJson.contains(text)) {
    return Error{"'" + std::string(text) + "' (infinity or NaN) has no JSON form"};
  }
  const char first = text.empty() ? '\0' : text[0];
  if ((is_digit(first) || first == '+' || first == '-') && !looks_like_timestamp(text)) {
    if (auto number = resolve_number(text)) return *number;
  }
  return Json(std::string(text));
}

Result<ReadDocument, TextError> read_yaml_document(std::string_view text,
                                                   const ReadLimits& limits) {
  ReadDocument document;
  try {
    document.source = YAML::Load(std::string(text));
    Walker walker(limits);
    document.value = walker.walk(document.source, 0);
  } catch (const YAML::Exception& e) {
    TextError error;
    error.message = e.msg;
    error.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    error.column = e.mark.is_null() ? 0 : e.mark.column + 1;
    return error;
  } catch (const WalkError& e) {
    TextError error;
    error.message = e.message;
    error.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    error.column = e.mark.is_null() ? 0 : e.mark.column + 1;
    return error;
  }
  return document;
}

namespace {

// "a~1b" -> "a/b", "~0" -> "~" (RFC 6901).
std::string unescape_pointer_token(std::string_view token) {
  std::string text;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      text += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      text += token[i];
    }
  }
  return text;
}

}  // namespace

int ReadDocument::line_of(std::string_view pointer) const {
  if (!source.IsDefined()) return 0;
  YAML::Node node = source;  // a handle: assigning one below rebinds it
  int line = node.Mark().is_null() ? 0 : node.Mark().line + 1;
  while (!pointer.empty() && pointer[0] == '/') {
    pointer.remove_prefix(1);
    const std::size_t end = std::min(pointer.find('/'), pointer.size());
    const std::string step = unescape_pointer_token(pointer.substr(0, end));
    pointer.remove_prefix(end);
    YAML::Node next;
    if (node.IsMap()) {
      for (const auto& entry : node) {
        if (entry.first.IsScalar() && entry.first.Scalar() == step) {
          next.reset(entry.second);
          break;
        }
      }
    } else if (node.IsSequence()) {
      std::size_t index = 0;
      const auto [end_of_number, error] =
          std::from_chars(step.data(), step.data() + step.size(), index);
      if (error == std::errc() && end_of_number == step.data() + step.size() &&
          index < node.size()) {
        const YAML::Node& list = node;
        next.reset(list[index]);
      }
    }
    // A key from a merge or not in the text: the closest node that is.
    if (!next.IsDefined() || next.Mark().is_null()) break;
    node.reset(next);
    line = node.Mark().line + 1;
  }
  return line;
}

YamlStyle detect_yaml_style(std::string_view text) {
  YamlStyle style;
  std::size_t key_indent = std::string_view::npos;  // of a line "key:" ending there
  for (const auto line : split_lines(text)) {
    const auto first = line.find_first_not_of(' ');
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (key_indent != std::string_view::npos && line.substr(first).starts_with("- ")) {
      style.indent_sequences = first > key_indent;
      return style;
    }
    std::string_view content = line.substr(first);
    while (!content.empty() && (content.back() == ' ' || content.back() == '\r')) {
      content.remove_suffix(1);
    }
    key_indent = !content.empty() && content.back() == ':' && !content.starts_with("- ")
                     ? first
                     : std::string_view::npos;
  }
  return style;
}

std::string write_yaml_document(const Json& document, const YamlStyle& style) {
  std::string out;
  if (is_nested(document)) {
    if (document.is_object()) {
      append_entries(out, document, 0, style);
    } else {
      append_items(out, document, 0, style);
    }
  } else {
    append_scalar(out, document, 0);
  }
  return out;
}

}  // namespace weft::ctl::inject
