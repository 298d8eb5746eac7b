// The one-pass review reader against the DOM reference (dom_reference.h): the
// same answer, byte for byte, on every captured review and on bodies made to hit
// the corners of JSON (numbers, escapes, UTF-8, repeated keys, key order) and of
// the pod checks.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dom_reference.h"
#include "review_fixtures.h"
#include "webhook/json_reader.h"

using weft::test::dom::differences_from_reference;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A valid review whose pod and one extra request member are given as text.
std::string review_text(const std::string& pod, const std::string& extra = "0") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"shop",)"
         R"("operation":"CREATE","extra":)" +
         extra + R"(,"object":)" + pod + "}}";
}

const std::string kPod = R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app"}]}})";

}  // namespace

TEST_CASE("captured reviews and the fuzz corpus read the same as with the DOM", "[equivalence]") {
  std::vector<std::filesystem::path> files;
  for (const auto* dir : {WEFT_WEBHOOK_TESTDATA, WEFT_WEBHOOK_FUZZ_CORPUS}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      files.push_back(entry.path());
  }
  REQUIRE(files.size() >= 5);
  for (const auto& file : files) {
    INFO(file.string());
    CHECK(differences_from_reference(read_file(file)) == "");
  }
}

TEST_CASE("JSON corners are accepted and refused as nlohmann does", "[equivalence]") {
  // Each is put where the reader skips it (an unknown request member): only
  // validity matters there.
  const std::vector<std::string> values{"1e400",
                                        "-1e400",
                                        "1e-400",
                                        "1E+2",
                                        "-0",
                                        "0.5",
                                        "01",
                                        "1.",
                                        ".5",
                                        "-",
                                        "+1",
                                        "1e",
                                        "1e+",
                                        "99999999999999999999999",
                                        "-9223372036854775809",
                                        "18446744073709551616",
                                        std::string(400, '9'),
                                        std::string(400, '9') + ".5",
                                        "0." + std::string(400, '1'),
                                        R"("\ud800")",
                                        R"("\udc00")",
                                        R"("\ud800\u0041")",
                                        R"("\ud83d\ude00")",
                                        R"("\u00e9")",
                                        R"("\u00E9\u0000")",
                                        "\"\xc3\xa9\"",
                                        "\"\xc3\"",
                                        "\"\xed\xa0\x80\"",
                                        "\"\xf4\x90\x80\x80\"",
                                        "\"\xc0\xaf\"",
                                        "\"\xe0\x80\xaf\"",
                                        "\"\xf0\x90\x80\x80\"",
                                        "\"\x7f\"",
                                        "\"a\tb\"",
                                        std::string("\"a\0b\"", 5),
                                        R"("\/")",
                                        R"("\x")",
                                        R"("\u12")",
                                        R"("\u12G4")",
                                        "[1,]",
                                        R"({"a":1,})",
                                        "[1 2]",
                                        R"({"a" 1})",
                                        "{,}",
                                        "[,]",
                                        "true",
                                        "tru",
                                        "nul",
                                        "falsey",
                                        "[]",
                                        "{}",
                                        "[[],{}]",
                                        "/*c*/1",
                                        "1 ",
                                        " \t\r\n1",
                                        "\"unterminated",
                                        "[",
                                        "{",
                                        R"({"a":})",
                                        R"({"a"})",
                                        R"({1:2})",
                                        "NaN",
                                        "Infinity",
                                        "\xef\xbb\xbf"
                                        "1"};
  for (const auto& value : values) {
    INFO(value);
    CHECK(differences_from_reference(review_text(kPod, value)) == "");
  }
  const std::string good = review_text(kPod);
  const std::vector<std::string> bodies{"\xef\xbb\xbf" + good,
                                        "\xef\xbb" + good,
                                        "\xef" + good,
                                        good + " \n",
                                        " " + good,
                                        good + "x",
                                        good + "{}",
                                        good + std::string(1, '\0'),
                                        good + std::string("\0x", 2),
                                        std::string("\0", 1),
                                        good.substr(0, good.size() - 1),
                                        std::string(64, '[') + std::string(64, ']'),
                                        std::string(65, '[') + std::string(65, ']'),
                                        std::string(65, '[') + "x",
                                        std::string(64, '[') + "x",
                                        "[\"[[[[\"]",
                                        "\"a"};
  for (const auto& body : bodies) {
    INFO(body);
    CHECK(differences_from_reference(body) == "");
  }
}

TEST_CASE("pod shapes, repeated keys and key order give the DOM's answer", "[equivalence]") {
  const std::vector<std::string> pods{
      // Repeated keys: the last one counts.
      R"({"spec":{"containers":"x"},"spec":{"containers":[{"name":"a"}]}})",
      R"({"spec":{"containers":[{"name":"a"}]},"spec":{"containers":"x"}})",
      R"({"spec":{"containers":[{"name":3,"name":"a"}]}})",
      R"({"spec":{"containers":[{"name":"a","name":3}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":"x","ports":[{"containerPort":1}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":"1","containerPort":4143}]}]}})",
      R"({"metadata":{"annotations":{"a":1,"a":"x"}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"a":"x"},"annotations":null},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":[],"metadata":{},"spec":{"containers":[{"name":"a"}]}})",
      R"({"spec":{"hostNetwork":"x","hostNetwork":true,"containers":[{"name":"a"}]}})",
      R"({"spec":{"volumes":[{"name":1,"name":"v"}],"containers":[{"name":"a"}]}})",
      // Several errors in text order unlike field order: the first in field order wins.
      R"({"spec":{"hostNetwork":1,"volumes":{},"initContainers":5,"containers":[{"ports":1}]},"metadata":{"annotations":{"b":1,"a":2}}})",
      R"({"spec":{"hostNetwork":1,"volumes":{},"initContainers":5,"containers":[{"ports":1}]}})",
      R"({"spec":{"hostNetwork":1,"volumes":{},"initContainers":5,"containers":[{"name":"a"}]}})",
      R"({"spec":{"hostNetwork":1,"volumes":{},"containers":[{"name":"a"}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":1.5}]},{"name":""}]}})",
      R"({"spec":{"containers":[{"name":""},{"name":"a","ports":7}]}})",
      R"({"spec":{"containers":[{"ports":[5],"name":"a"}]}})",
      R"({"spec":{"volumes":[{"name":"v"},3,{"name":null}],"containers":[{"name":"a"}]}})",
      // Integers as nlohmann stores them, then cast to int.
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":4294971439}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":-4294963153}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":18446744073709551615}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":18446744073709551616}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":4143.0}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":-0}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":null}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[{}]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":[null]}]}})",
      R"({"spec":{"containers":[{"name":"a","ports":null}]}})",
      // Escaped names and keys.
      R"({"spec":{"containers":[{"name":"weft-pro\u0078y"}]}})",
      R"({"spec":{"initContainers":[{"name":"weft\u002dinit"}],"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"weft.io\/inject":"disabled"}},"spec":{"containers":7}})",
      R"({"metadata":{"annotations":{"weft.io\/inject":"enabled","config.weft.io\/log-level":"debug"}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"config.weft.io/skip-subnets":"10.0.0.0/8","config.weft.io/nope":"\u0001\"x"}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"weft.io/inject":"bad \u0000 \ud83d\ude00 \t"}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"config.weft.io/opaque-ports":"5432,6379","config.weft.io/proxy-cpu-limit":"2"}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"config.weft.io/skip-inbound-ports":"22","config.weft.io/skip-outbound-ports":"3306"}},"spec":{"containers":[{"name":"a"}]}})",
      // Opted out with a bad shape, in every place the opt-out can sit.
      R"({"metadata":{"annotations":{"weft.io/inject":"disabled","x":1}},"spec":{"containers":[{"name":"a"}]}})",
      R"({"metadata":{"annotations":{"weft.io/inject":null}},"spec":7})",
      R"({"metadata":{"annotations":[]},"spec":7})", R"({"metadata":null,"spec":null})",
      R"({"metadata":{"annotations":{"weft.io/inject":"disabled"}},"spec":{"containers":[]}})",
      // Shapes.
      "null", "[]", "\"pod\"", "7", "{}", R"({"spec":{}})", R"({"spec":{"containers":null}})",
      R"({"spec":{"containers":[],"initContainers":[]}})",
      R"({"spec":{"containers":[{"name":"a"}],"initContainers":[],"volumes":[]}})",
      R"({"metadata":{},"spec":{"containers":[{"name":"a"}],"initContainers":null,"volumes":null,"hostNetwork":null}})",
      R"({"spec":{"containers":[{"name":"a"}],"hostNetwork":true}})",
      R"({"spec":{"containers":[{"name":"a"}],"volumes":[{"name":"weft-xtables-lock"}]}})"};
  for (const auto& pod : pods) {
    INFO(pod);
    CHECK(differences_from_reference(review_text(pod)) == "");
  }
  // Request fields: types, repeats, nulls, and a review with no object at all.
  const std::vector<std::string> reviews{
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":null,"dryRun":null}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1,"uid":"u","kind":{"kind":"Pod"},"kind":7,"operation":"CREATE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","group":1},"operation":"DELETE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod","kind":null},"operation":"CREATE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Deployment","group":"apps"},"operation":"CREATE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","subResource":"ephemeralcontainers"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","namespace":"kube-system","object":[]}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","dryRun":true,"dryRun":1}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","dryRun":1,"dryRun":true}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":7,"request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"},"request":null})",
      R"({"apiVersion":null,"kind":"AdmissionReview","request":{}})",
      R"({"apiVersion":1,"kind":2})",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"Admission\u0052eview","request":{"uid":"\u0075","kind":{"kind":"Pod"},"operation":"CREATE","name":"a\"b"}})",
      R"({"kind":"AdmissionReview","request":{}})"};
  for (const auto& review : reviews) {
    INFO(review);
    CHECK(differences_from_reference(review) == "");
  }
}

TEST_CASE("the JSON reader reads what it is asked and stops at the first error", "[json]") {
  using weft::webhook::JsonReader;
  JsonReader reader(R"( {"a": ["x\n", 12, -3.5e2, true, null, {"b": "\u00e9"}], "c": false} )", 8);
  REQUIRE(reader.enter_object());
  std::string_view key;
  REQUIRE(reader.next_key(key));
  CHECK(key == "a");
  REQUIRE(reader.enter_array());
  REQUIRE(reader.next_element());
  CHECK(reader.string() == "x\n");
  REQUIRE(reader.next_element());
  const auto twelve = reader.number();
  CHECK(twelve.is_integer);
  CHECK(twelve.integer == 12);
  REQUIRE(reader.next_element());
  CHECK_FALSE(reader.number().is_integer);
  REQUIRE(reader.next_element());
  CHECK(reader.boolean());
  REQUIRE(reader.next_element());
  CHECK(reader.peek() == JsonReader::Kind::kNull);
  reader.skip();
  REQUIRE(reader.next_element());
  REQUIRE(reader.enter_object());
  REQUIRE(reader.next_key(key));
  CHECK(key == "b");
  CHECK(reader.string() == "\u00e9");
  CHECK_FALSE(reader.next_key(key));
  CHECK_FALSE(reader.next_element());
  REQUIRE(reader.next_key(key));
  CHECK(key == "c");
  CHECK_FALSE(reader.boolean());
  CHECK_FALSE(reader.next_key(key));
  CHECK(reader.finish());

  JsonReader bad(R"({"a": [1,, 2], "b": 3})", 8);
  REQUIRE(bad.enter_object());
  REQUIRE(bad.next_key(key));
  bad.skip();
  CHECK_FALSE(bad.ok());
  CHECK_FALSE(bad.next_key(key));  // sticky: nothing more is read
  CHECK(bad.peek() == JsonReader::Kind::kNone);
  CHECK_FALSE(bad.finish());

  JsonReader deep("[[[[1]]]]", 3);
  deep.skip();
  CHECK(deep.too_deep());
  CHECK_FALSE(deep.finish());
}
