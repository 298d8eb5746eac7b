#pragma once

// Decodes a request fixture (test/unit/proxy/fixtures/requests/*.http, format
// in the README there): leading "# key: value" expectations, then lines that
// end in CRLF once decoded, with escapes. Shared by the fixture unit test and
// the fuzz target's replay, so both feed the parser the same bytes.

#include <map>
#include <string>
#include <string_view>

namespace weft::test {

inline std::string unescape_fixture(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char code = text[++i];
    switch (code) {
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
        break;
      default:
        out += code;
    }
  }
  return out;
}

struct Fixture {
  std::string name;
  std::map<std::string, std::string> expect;  // from the "# key: value" lines
  std::string bytes;                          // what the parser is fed
};

inline Fixture decode_fixture(std::string name, std::string_view text) {
  Fixture fixture{std::move(name), {}, {}};
  bool in_header = true;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (in_header && line.starts_with("# ")) {
      const auto colon = line.find(':');
      const std::string_view value =
          colon + 1 < line.size() ? line.substr(colon + 2) : std::string_view{};
      fixture.expect[std::string(line.substr(2, colon - 2))] = unescape_fixture(value);
      continue;
    }
    in_header = false;
    if (!line.empty() && line.back() == '\\' &&
        (line.size() < 2 || line[line.size() - 2] != '\\')) {
      fixture.bytes += unescape_fixture(line.substr(0, line.size() - 1));
    } else {
      fixture.bytes += unescape_fixture(line) + "\r\n";
    }
  }
  return fixture;
}

}  // namespace weft::test
