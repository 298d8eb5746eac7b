#include "weftctl/output.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <sstream>

using weft::ctl::display_width;
using weft::ctl::Table;

TEST_CASE("tables align columns by characters, not bytes, and ignore colour") {
  Table table({"NAME", "STATUS", "HINT"});
  table.add_row({"webhook", weft::ctl::mark_ok(true), ""});
  table.add_row({"identity-issuer", weft::ctl::mark_fail(false), "rotate it"});
  std::ostringstream out;
  table.render(out);
  CHECK(out.str() ==
        "NAME             STATUS  HINT\n"
        "webhook          \033[32m\u2713\033[0m\n"
        "identity-issuer  \u00d7       rotate it\n");
  CHECK(display_width("\033[1;31m\u00d7\033[0m ok") == 4);
  CHECK(display_width("") == 0);
}

TEST_CASE("marks are plain without colour") {
  CHECK(weft::ctl::mark_ok(false) == "\u2713");
  CHECK(weft::ctl::mark_warn(false) == "\u203c");
  CHECK(weft::ctl::mark_fail(false) == "\u00d7");
  CHECK(weft::ctl::red("x", false) == "x");
}

TEST_CASE("YAML output reads back as the same JSON value, strings staying strings") {
  const auto value = nlohmann::json::parse(R"({
    "name": "web", "replicas": 3, "ratio": 0.5, "ready": true, "none": null,
    "tricky": ["true", "no", "1.5", "0x1f", "", "~", "null", "10:30", "plain text", "- dash", "a: b"],
    "nested": {"list": [{"a": 1}, {"b": [1, 2]}], "empty": {}, "emptyList": []}
  })");
  std::ostringstream out;
  weft::ctl::write_yaml(out, value);
  const YAML::Node node = YAML::Load(out.str());
  CHECK(node["name"].as<std::string>() == "web");
  CHECK(node["replicas"].as<int>() == 3);
  CHECK(node["ready"].as<bool>());
  CHECK(node["none"].IsNull());
  const auto tricky = value["tricky"];
  REQUIRE(node["tricky"].size() == tricky.size());
  for (std::size_t i = 0; i < tricky.size(); ++i) {
    INFO(out.str());
    // Quoted (or plain where unambiguous): yaml-cpp's tag says it is not a plain scalar to resolve.
    const auto item = node["tricky"][i];
    CHECK(item.as<std::string>() == tricky[i].get<std::string>());
    const bool plain_ok = tricky[i] == "plain text" || tricky[i] == "- dash" || tricky[i] == "a: b";
    if (!plain_ok) CHECK(item.Tag() == "!");
  }
  CHECK(node["nested"]["list"][1]["b"][1].as<int>() == 2);
  CHECK(node["nested"]["empty"].IsMap());
  CHECK(node["nested"]["emptyList"].IsSequence());
}

TEST_CASE("JSON output is indented and ends with a newline") {
  std::ostringstream out;
  weft::ctl::write_json(out, {{"a", 1}});
  CHECK(out.str() == "{\n  \"a\": 1\n}\n");
}

namespace {

// A byte a terminal acts on: C0 but the newline, DEL, C1 in UTF-8.
bool has_terminal_control(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      return true;
    }
  }
  return false;
}

// Escape sequences that move the cursor, erase lines, set the clipboard (OSC
// 52), and C1's one-byte CSI; valid UTF-8, as YAML and JSON carry it.
const std::string kHostile =
    "v1\x1b[2A\x1b[2K\x1b]52;c;aGk=\x07\r\x7f\xc2\x9b"
    "31m ok é ✓";

}  // namespace

TEST_CASE("text from a cluster or a manifest is made safe for a terminal") {
  using weft::ctl::terminal_safe;
  CHECK(terminal_safe("plain text, é ✓ 中") == "plain text, é ✓ 中");
  CHECK(terminal_safe("a\x1b[31mb") == "a\\x1B[31mb");
  CHECK(terminal_safe("line\nnext\r\t") == "line\\x0Anext\\x0D\\x09");
  CHECK(terminal_safe("\x7f") == "\\x7F");
  CHECK(terminal_safe("\xc2\x9b"
                      "2J") == "\\u009B2J");         // C1 CSI, as UTF-8
  CHECK(terminal_safe("\x9b\xff") == "\\x9B\\xFF");  // not UTF-8
  CHECK(terminal_safe("\xe2\x9c") == "\\xE2\\x9C");  // cut short
  CHECK_FALSE(has_terminal_control(terminal_safe(kHostile)));
  CHECK_FALSE(has_terminal_control(terminal_safe(kHostile + "\x9b\xff")));
}

TEST_CASE("YAML output writes control characters as escapes") {
  std::ostringstream out;
  weft::ctl::write_yaml(out, {{"detail", kHostile}, {kHostile, "key"}, {"del", "a\x7f"}});
  INFO(out.str());
  CHECK_FALSE(has_terminal_control(out.str()));
  const YAML::Node node = YAML::Load(out.str());
  CHECK(node["detail"].as<std::string>() == kHostile);
  CHECK(node[kHostile].as<std::string>() == "key");
  CHECK(node["del"].as<std::string>() == "a\x7f");
}

TEST_CASE("table cells keep weftctl's colours and lose everything else a terminal acts on") {
  Table table({"NAME", "ROUTE"});
  table.add_row({weft::ctl::red("web", true), "a\x1b[8mhidden\x1b]52;c;aGk=\x07"});
  std::ostringstream out;
  table.render(out);
  CHECK(out.str() ==
        "NAME  ROUTE\n"
        "\x1b[1;31mweb\x1b[0m   a\\x1B[8mhidden\\x1B]52;c;aGk=\\x07\n");
}
