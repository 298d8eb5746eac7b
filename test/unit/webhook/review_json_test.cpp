// parse_admission_review (nlohmann SAX, only the parts the webhook reads kept)
// against the whole document parsed by nlohmann and walked the same way
// (review_oracle.h), on every captured review and on bodies made to hit the
// corners of JSON (numbers, escapes, UTF-8, repeated keys, key order) and of the
// pod checks; then the limits and what the pruning keeps, with expected answers.

#include "webhook/review_json.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "review_fixtures.h"
#include "review_oracle.h"
#include "webhook/admission.h"

using weft::test::differences_from_whole_parse;

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

TEST_CASE("captured reviews and the fuzz corpus read the same as a whole-document parse",
          "[equivalence]") {
  std::vector<std::filesystem::path> files;
  for (const auto* dir : {WEFT_WEBHOOK_TESTDATA, WEFT_WEBHOOK_FUZZ_CORPUS}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      files.push_back(entry.path());
  }
  REQUIRE(files.size() >= 5);
  for (const auto& file : files) {
    INFO(file.string());
    CHECK(differences_from_whole_parse(read_file(file)) == "");
  }
}

TEST_CASE("JSON corners are accepted and refused as nlohmann::json::parse does", "[equivalence]") {
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
    CHECK(differences_from_whole_parse(review_text(kPod, value)) == "");
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
    CHECK(differences_from_whole_parse(body) == "");
  }
}

TEST_CASE("pod shapes, repeated keys and key order read as in the whole document",
          "[equivalence]") {
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
    CHECK(differences_from_whole_parse(review_text(pod)) == "");
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
    CHECK(differences_from_whole_parse(review) == "");
  }
}

TEST_CASE("untrusted bodies: each limit refuses with a clear reason", "[review-json]") {
  using weft::webhook::parse_admission_review;
  const auto refusal = [](const std::string& body) {
    const auto parsed = parse_admission_review(body);
    return parsed ? std::string("accepted") : parsed.error().message;
  };
  // Depth: 64 levels pass the depth check (then fail as no review), 65 do not,
  // wherever they are, skipped parts included.
  CHECK_THAT(refusal(std::string(64, '[') + std::string(64, ']')),
             Catch::Equals("body is not a JSON object"));
  CHECK_THAT(refusal(std::string(65, '[') + std::string(65, ']')),
             Catch::Equals("JSON nested deeper than 64 levels"));
  CHECK_THAT(refusal(review_text(kPod, std::string(64, '[') + std::string(64, ']'))),
             Catch::Contains("nested deeper than 64"));
  CHECK(refusal(review_text(kPod, std::string(60, '[') + std::string(60, ']'))) == "accepted");
  // A repeated key in an object the webhook reads: refused, naming the key (the
  // API server never sends one; a parser that took the first would see another pod).
  CHECK_THAT(refusal(review_text(
                 R"({"spec":{"containers":[{"name":"a"}]},"spec":{"containers":[{"name":"b"}]}})")),
             Catch::Equals("the key 'spec' is repeated in an object"));
  CHECK_THAT(
      refusal(review_text(
          R"({"metadata":{"annotations":{"weft.io/inject":"enabled","weft.io/inject":"disabled"}},"spec":{"containers":[{"name":"a"}]}})")),
      Catch::Contains("'weft.io/inject' is repeated"));
  CHECK_THAT(refusal(R"({"kind":"AdmissionReview","kind":"AdmissionReview"})"),
             Catch::Contains("'kind' is repeated"));
  CHECK_THAT(refusal(review_text(R"({"spec":{"containers":[{"name":"a","name":"b"}]}})")),
             Catch::Contains("'name' is repeated"));
  // A body that also is not JSON further on is refused for that (found by the fuzzer).
  CHECK_THAT(refusal(R"({"kind":"AdmissionReview","kind":"AdmissionReview",})"),
             Catch::Contains("not valid JSON"));
  // ...in a part it skips, it does not matter.
  CHECK(refusal(review_text(kPod, R"({"a":1,"a":2})")) == "accepted");
  // Invalid UTF-8, lone surrogates, control characters: nlohmann's reason.
  CHECK_THAT(refusal("{\"kind\":\"\xff\"}"),
             Catch::Contains("not valid JSON") && Catch::Contains("ill-formed UTF-8 byte"));
  CHECK_THAT(refusal(review_text(kPod, R"("\udc00")")),
             Catch::Contains("not valid JSON") && Catch::Contains("surrogate"));
  CHECK_THAT(refusal(review_text(kPod, "\"a\tb\"")), Catch::Contains("control character"));
  // Numbers: beyond a double refused; beyond 64 bits a float, so not a port.
  CHECK_THAT(refusal(review_text(kPod, "1e400")),
             Catch::Contains("not valid JSON") && Catch::Contains("number overflow"));
  const auto huge_port = parse_admission_review(review_text(
      R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":18446744073709551616}]}]}})"));
  REQUIRE(huge_port);
  REQUIRE_FALSE(huge_port->object.pod);
  CHECK_THAT(huge_port->object.pod.error().message, Catch::Contains("integer containerPort"));
  // Many small values in a part it reads (an annotation's value, containers):
  // refused past the limit, so one review's memory stays bounded.
  std::string empties;
  for (std::size_t i = 0; i < weft::webhook::kMaxKeptValues; ++i) empties += "{},";
  empties += "{}";
  CHECK_THAT(refusal(review_text(R"({"metadata":{"annotations":{"a":[)" + empties +
                                 R"(]}},"spec":{"containers":[{"name":"a"}]}})")),
             Catch::Contains("more than 10000 values"));
  CHECK_THAT(refusal(review_text(R"({"spec":{"containers":[)" + empties + "]}}")),
             Catch::Contains("more than 10000 values"));
  // ...and the same count in a part it skips costs nothing and is accepted.
  CHECK(refusal(review_text(kPod, "[" + empties + "]")) == "accepted");
  // Syntax: where, and what.
  CHECK_THAT(refusal(R"({"kind":tru})"), Catch::Contains("line 1, column 12"));
  CHECK_THAT(refusal(review_text(kPod) + "x"), Catch::Contains("expected end of input"));
}

TEST_CASE("the pruned document keeps what the walk reads and nothing else", "[review-json]") {
  const auto pruned = weft::webhook::parse_review_json(
      weft::test::read_testdata("deployment-pod-review.json"), weft::webhook::kMaxJsonDepth);
  REQUIRE(pruned);
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {
      "uid": "0df28fbd-5f5f-11e8-bc74-36e6bb280816",
      "kind": {"group": "", "version": "v1", "kind": "Pod"},
      "namespace": "shop", "operation": "CREATE", "dryRun": false,
      "object": {
        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T07:00:00Z"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                 "ports": [{"name": "http", "containerPort": 8080}],
                                 "volumeMounts": [{"name": "kube-api-access-7xk2p", "readOnly": true,
                                   "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
                 "securityContext": {},
                 "volumes": [{"name": "kube-api-access-7xk2p", "projected": {"sources": [
                   {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                   {"configMap": {"name": "kube-root-ca.crt",
                                  "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                   {"downwardAPI": {"items": [{"path": "namespace",
                     "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}],
                   "defaultMode": 420}}]}}}})");
  CHECK(pruned->dump(2) == expected.dump(2));
  // A value of the wrong type keeps its type, so the walk gives the same error;
  // volumes are kept whole (an injected pod's are compared with the injection's).
  const auto wrong = weft::webhook::parse_review_json(
      R"({"request":{"object":{"spec":{"containers":{"a":[1,2]},"volumes":[[1],{"x":1}]}}}})", 64);
  REQUIRE(wrong);
  CHECK(wrong->dump() ==
        R"({"request":{"object":{"spec":{"containers":{},"volumes":[[1],{"x":1}]}}}})");
}
