#include "weftctl/inject/manifest_stream.h"

#include <catch2/catch.hpp>

#include "inject_testdata.h"

using namespace weft::ctl::inject;

namespace {

std::string joined(const std::vector<DocumentText>& pieces) {
  std::string text;
  for (const auto& piece : pieces) text += piece.text();
  return text;
}

}  // namespace

TEST_CASE("the pieces of every fixture join back to its bytes", "[inject][stream]") {
  for (const auto& name : test::manifest_fixtures()) {
    INFO(name);
    const std::string text = test::read_testdata(name);
    if (detect_format(text) == StreamFormat::kYaml) {
      CHECK(joined(split_yaml_stream(text)) == text);
    } else {
      auto pieces = split_json_stream(text);
      REQUIRE(pieces);
      CHECK(joined(*pieces) == text);
    }
  }
}

TEST_CASE("YAML documents split at --- and ... lines, comments kept around bodies",
          "[inject][stream]") {
  const std::string text =
      "# leading\n"
      "a: 1\n"
      "---\n"
      "# Source: chart/x.yaml\n"
      "b: |\n"
      "  --- indented: content of the block, not a marker\n"
      "# trailing\n"
      "...\n"
      "%YAML 1.1\n"
      "--- {c: 3}\n";
  const auto pieces = split_yaml_stream(text);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].head == "# leading\n");
  CHECK(pieces[0].body == "a: 1\n");
  CHECK(pieces[1].head == "---\n# Source: chart/x.yaml\n");
  CHECK(pieces[1].body == "b: |\n  --- indented: content of the block, not a marker\n");
  CHECK(pieces[1].tail == "# trailing\n...\n");
  CHECK(pieces[1].first_line == 3);
  CHECK(pieces[1].body_line == 5);
  CHECK(pieces[2].head == "%YAML 1.1\n");
  CHECK(pieces[2].body == "--- {c: 3}\n");
  CHECK(pieces[2].first_line == 9);
}

TEST_CASE("a rewritten document keeps its head and tail", "[inject][stream]") {
  const auto pieces = split_yaml_stream("---\n# Source: x\na: 1\n# end\n");
  REQUIRE(pieces.size() == 1);
  CHECK(rewrite_document(pieces[0], Json::parse(R"({"a": 2})"), StreamFormat::kYaml) ==
        "---\n# Source: x\na: 2\n# end\n");
  // A kept literal block last in the body: the tail's blank lines stay out of it.
  const auto kept = split_yaml_stream("a: 1\n\n  \n# end\n");
  const Json text = Json::parse(R"({"a": "x\n\n"})");
  const std::string rewritten = rewrite_document(kept[0], text, StreamFormat::kYaml);
  CHECK(rewritten == "a: |+\n  x\n\n# end\n");
  CHECK(read_yaml_document(rewritten)->value == text);
  const auto no_newline = split_yaml_stream("a: 1\n  ");
  CHECK(rewrite_document(no_newline[0], text, StreamFormat::kYaml) == "a: |+\n  x\n\n  ");
  const auto inline_start = split_yaml_stream("--- {a: 1}\n");
  CHECK(rewrite_document(inline_start[0], Json::parse(R"({"a": 2})"), StreamFormat::kYaml) ==
        "---\na: 2\n");
}

TEST_CASE("JSON streams: values one after another, indentation followed", "[inject][stream]") {
  const std::string text = "{\"a\": \"}\\\"{\"}\n\n{\n    \"b\": [1]\n}\n";
  auto pieces = split_json_stream(text);
  REQUIRE(pieces);
  REQUIRE(pieces->size() == 3);
  CHECK((*pieces)[0].body == "{\"a\": \"}\\\"{\"}");
  CHECK((*pieces)[1].head == "\n\n");
  CHECK((*pieces)[1].body_line == 3);
  CHECK((*pieces)[2].head == "\n");
  CHECK(rewrite_document((*pieces)[1], Json::parse(R"({"b": [2]})"), StreamFormat::kJson) ==
        "\n\n{\n    \"b\": [\n        2\n    ]\n}");
  CHECK(rewrite_document((*pieces)[0], Json::parse(R"({"a": 1})"), StreamFormat::kJson) ==
        "{\"a\":1}");

  const auto unterminated = split_json_stream("{}\n{\"a\": [\n");
  REQUIRE_FALSE(unterminated);
  CHECK(unterminated.error().line == 2);
  const auto stray = split_json_stream("{}\nnope\n");
  REQUIRE_FALSE(stray);
  CHECK(stray.error().line == 2);
}
