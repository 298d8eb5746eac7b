#include "weftctl/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ostream>

namespace weft::ctl {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// YAML 1.1 and 1.2 readers would not give this back as a string.
bool reads_as_non_string(const std::string& text) {
  if (text.empty() || text == "~") return true;
  for (std::string_view word :
       {"true", "false", "yes", "no", "on", "off", "y", "n", "null", ".inf", "-.inf", ".nan"}) {
    if (equals_ignoring_case(text, word)) return true;
  }
  const char first = text.front();
  if (!(std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '+' ||
        first == '.')) {
    return false;
  }
  // Numbers in any base YAML knows, and sexagesimal or dotted forms some readers take.
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  if (end == text.c_str() + text.size()) return true;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == 'x' || c == 'o' || c == '_' ||
           c == ':' || c == '.' || c == '-' || c == '+';
  });
}

// yaml-cpp escapes C0 and C1 characters in a double-quoted scalar but writes
// DEL as it is (and may choose a plain scalar for it): such text is forced
// double-quoted and its DEL escaped after emitting (write_yaml).
constexpr char kDelete = '\x7f';

bool needs_double_quotes(const std::string& text) {
  return reads_as_non_string(text) || text.find(kDelete) != std::string::npos;
}

void emit(YAML::Emitter& out, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        if (needs_double_quotes(key)) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) emit(out, item);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      if (needs_double_quotes(text)) out << YAML::DoubleQuoted;
      out << text;
      break;
    }
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    default:  // numbers and booleans: JSON's text is valid YAML
      out << value.dump();
      break;
  }
}

constexpr std::string_view kReset = "\033[0m";

std::string paint(std::string_view code, std::string_view text, bool color) {
  if (!color) return std::string(text);
  return std::string(code) + std::string(text) + std::string(kReset);
}

}  // namespace

void write_json(std::ostream& out, const nlohmann::json& value) {
  out << value.dump(2) << '\n';
}

void write_yaml(std::ostream& out, const nlohmann::json& value) {
  YAML::Emitter emitter;
  emitter.SetIndent(2);
  emitter << YAML::Block;
  emit(emitter, value);
  // Every DEL is inside a double-quoted scalar, where \x7F reads back as DEL.
  for (const char c : std::string_view(emitter.c_str(), emitter.size())) {
    if (c == kDelete) {
      out << "\\x7F";
    } else {
      out << c;
    }
  }
  out << '\n';
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      // CSI: parameters up to a final byte in @..~.
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    if ((byte & 0xC0) != 0x80) ++width;  // not a continuation byte
  }
  return width;
}

namespace {

constexpr std::string_view kRed = "\033[1;31m";
constexpr std::string_view kGreen = "\033[32m";
constexpr std::string_view kYellow = "\033[33m";

// A table cell made terminal-safe but for the colours weftctl paints itself
// (red, green, yellow, reset): cells hold names and labels from the cluster
// and from pods' /metrics, which any pod author writes.
std::string safe_cell(std::string_view cell) {
  std::string safe;
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < cell.size(); ++i) {
    if (cell[i] != '\033') continue;
    for (const std::string_view colour : {kRed, kGreen, kYellow, kReset}) {
      if (cell.substr(i).starts_with(colour)) {
        safe += terminal_safe(cell.substr(plain_from, i - plain_from));
        safe += colour;
        i += colour.size() - 1;
        plain_from = i + 1;
        break;
      }
    }
  }
  return safe + terminal_safe(cell.substr(std::min(plain_from, cell.size())));
}

std::vector<std::string> safe_row(const std::vector<std::string>& row) {
  std::vector<std::string> safe;
  for (const auto& cell : row) safe.push_back(safe_cell(cell));
  return safe;
}

}  // namespace

void Table::render(std::ostream& out) const {
  const std::vector<std::string> header = safe_row(header_);
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : rows_) rows.push_back(safe_row(row));
  std::size_t columns = header.size();
  for (const auto& row : rows) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto write = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < columns; ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      line += cell;
      if (i + 1 < columns) line.append(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  write(header);
  for (const auto& row : rows) write(row);
}

std::string red(std::string_view text, bool color) {
  return paint(kRed, text, color);
}
std::string green(std::string_view text, bool color) {
  return paint(kGreen, text, color);
}
std::string yellow(std::string_view text, bool color) {
  return paint(kYellow, text, color);
}

std::string mark_ok(bool color) {
  return green("\u2713", color);
}
std::string mark_warn(bool color) {
  return yellow("\u203c", color);
}
std::string mark_fail(bool color) {
  return red("\u00d7", color);
}

namespace {

// The length of the UTF-8 sequence starting at text[i], or 0 if it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  const std::size_t length = lead >= 0xF0 && lead <= 0xF4   ? 4
                             : lead >= 0xE0                 ? 3
                             : lead >= 0xC2 && lead <= 0xDF ? 2
                                                            : 0;
  if (length == 0 || lead > 0xF4 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

std::string terminal_safe(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string safe;
  safe.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      safe += static_cast<char>(c);
      continue;
    }
    const std::size_t length = c >= 0x80 ? utf8_sequence_length(text, i) : 0;
    const auto second = length == 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (length == 2 && c == 0xC2 && second <= 0x9F) {  // C1: U+0080..U+009F
      safe += "\\u00";
      safe += kHex[second >> 4];
      safe += kHex[second & 0xF];
      ++i;
    } else if (length > 0) {
      safe.append(text.substr(i, length));
      i += length - 1;
    } else {
      safe += "\\x";
      safe += kHex[c >> 4];
      safe += kHex[c & 0xF];
    }
  }
  return safe;
}

}  // namespace weft::ctl
