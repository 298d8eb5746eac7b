// weftctl inject and uninject as a user runs them: flags, files and stdin,
// stdout only on success, notes and errors on stderr, exit codes.

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inject_testdata.h"
#include "weftctl/commands.h"

namespace {

struct Ran {
  int status = 0;
  std::string out;
  std::string err;
};

Ran run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out;
  std::ostringstream err;
  Ran ran;
  // A test must never reach a real cluster through the user's kubeconfig.
  ran.status =
      weft::ctl::run(args, "weftctl", {in, out, err, false}, weft::flags::environment_of({}), [] {
        return weft::Result<std::shared_ptr<weft::kube::Client>>(
            weft::Error{"no cluster in unit tests"});
      });
  ran.out = out.str();
  ran.err = err.str();
  return ran;
}

std::string fixture(const std::string& name) {
  return weft::ctl::inject::test::testdata_path(name);
}

// A file in the test's temporary directory, removed with it.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    path = std::filesystem::temp_directory_path() /
           ("weftctl-inject-test-" + std::to_string(std::rand()) + ".json");
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

const std::string kPod =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers:\n"
    "  - name: app\n    image: busybox\n";

}  // namespace

TEST_CASE("inject reads stdin by default and opts the pod in without a cluster",
          "[inject][command]") {
  const auto ran = run({"inject"}, kPod);
  CHECK(ran.status == 0);
  CHECK(ran.out ==
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  annotations:\n"
        "    weft.io/inject: enabled\nspec:\n  containers:\n  - name: app\n    image: busybox\n");
  CHECK(ran.err == "weftctl inject: stdin: document 1: Pod shop/p: annotated\n");
  // uninject reverses it, byte for byte here.
  const auto back = run({"uninject", "-f", "-"}, ran.out);
  CHECK(back.status == 0);
  CHECK(back.out == kPod);
}

TEST_CASE("inject reads every -f, stdin once, and joins the streams", "[inject][command]") {
  const auto ran = run({"inject", "-f", fixture("inject/12-pod.yaml"), "-f", "-", "--filename=-"},
                       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
  CHECK(ran.status == 0);
  CHECK(ran.out.find("weft.io/inject: enabled") != std::string::npos);
  CHECK(ran.out.find("\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n") !=
        std::string::npos);
}

TEST_CASE("a bad document anywhere: exit 1, its place on stderr, nothing on stdout",
          "[inject][command]") {
  const auto ran = run({"inject", "-f", fixture("inject/01-helm-nginx.yaml"), "-f",
                        fixture("inject-errors/bad-indentation.yaml")});
  CHECK(ran.status == 1);
  CHECK(ran.out.empty());
  CHECK(ran.err.find("bad-indentation.yaml: document 2 (line 17): ") != std::string::npos);

  const auto missing = run({"inject", "-f", "/nonexistent/weftctl.yaml"});
  CHECK(missing.status == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("/nonexistent/weftctl.yaml") != std::string::npos);
}

TEST_CASE("inject --manual needs the webhook's configuration, from the cluster or a file",
          "[inject][command]") {
  const auto no_cluster = run({"inject", "--manual"}, kPod);
  CHECK(no_cluster.status == 1);
  CHECK(no_cluster.out.empty());
  CHECK(no_cluster.err ==
        "weftctl inject: no injector configuration: cannot reach the cluster: no cluster in unit "
        "tests; give --injector-config FILE (the JSON the webhook takes with --config) to inject "
        "without a cluster\n");

  const TempFile auto_mode(R"({"proxyVersion": "v9"})");
  const auto no_version = run({"inject", "--manual", "--injector-config", auto_mode.path}, kPod);
  CHECK(no_version.status == 1);
  CHECK(no_version.err.find("give --kubernetes-version") != std::string::npos);

  const auto classic = run({"inject", "--manual", "--injector-config", auto_mode.path,
                            "--kubernetes-version", "v1.28.3"},
                           kPod);
  CHECK(classic.status == 0);
  CHECK(classic.out.find("weft.io/sidecar-mode: classic") != std::string::npos);
  CHECK(classic.out.find("weft.io/proxy-version: v9") != std::string::npos);
  // The default identity address is worth a word: the webhook in a cluster injects another.
  CHECK(classic.err.find("identityAddress is the default") != std::string::npos);
  CHECK(classic.err.find("Pod shop/p: injected") != std::string::npos);

  const TempFile bad(R"({"proxyImage": 3})");
  const auto invalid = run({"inject", "--manual", "--injector-config", bad.path}, kPod);
  CHECK(invalid.status == 1);
  CHECK(invalid.err.find(bad.path.string() + ": ") != std::string::npos);
}

TEST_CASE("inject's flags: exclusive modes, --manual's own flags", "[inject][command]") {
  CHECK(run({"inject", "--manual", "--annotate-only"}).status == 2);
  const auto stray = run({"inject", "--injector-config", "x.json"});
  CHECK(stray.status == 2);
  CHECK(stray.err.find("apply to --manual only") != std::string::npos);
  CHECK(run({"inject", "--frobnicate"}).status == 2);
  const auto help = run({"inject", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--manual") != std::string::npos);
  CHECK(help.out.find("--filename FILE") != std::string::npos);
  CHECK(run({"uninject", "-h"}).status == 0);
}

TEST_CASE("a JSON stream comes back as JSON, unchanged values byte for byte", "[inject][command]") {
  const std::string input = weft::ctl::inject::test::read_testdata("inject/06-multi-value.json");
  const auto ran = run({"inject"}, input);
  REQUIRE(ran.status == 0);
  const auto first_line_end = input.find('\n');
  CHECK(ran.out.substr(0, first_line_end) == input.substr(0, first_line_end));
  CHECK(ran.out.find("\"weft.io/inject\": \"enabled\"") != std::string::npos);
}

TEST_CASE("a folder given to -f: its manifests, in name order", "[inject][command]") {
  const auto ran = run({"inject", "-f", fixture("inject")});
  CHECK(ran.status == 0);
  const auto first = ran.err.find("01-helm-nginx.yaml: document 3: Deployment web/");
  const auto last = ran.err.find("25-crlf-line-endings.yaml: document 1: Pod shop/windows-edited");
  CHECK(first != std::string::npos);
  CHECK(last != std::string::npos);
  CHECK(first < last);
}

TEST_CASE("names and keys from a manifest cannot drive the terminal through stderr",
          "[inject][command]") {
  // A kind and a name with colour, title and carriage-return escapes.
  const auto passed = run({"inject"},
                          "apiVersion: v1\nkind: \"Config\\e[31mMap\"\n"
                          "metadata: {name: \"c\\e]0;owned\\a\\rX\"}\n");
  CHECK(passed.status == 0);
  CHECK(passed.err ==
        "weftctl inject: stdin: document 1: Config\\x1B[31mMap c\\x1B]0;owned\\x07\\x0DX: no pod "
        "template (v1), passed through unchanged\n");
  // An error quoting a key.
  const auto refused = run({"uninject"}, "a: 1\n\"\\e[2J\": 2\n\"\\e[2J\": 3\n");
  CHECK(refused.status == 1);
  CHECK(refused.err.find('\x1b') == std::string::npos);
  CHECK(refused.err.find("the key '\\x1B[2J' appears twice") != std::string::npos);
}

TEST_CASE("inject refuses a document whose aliases copy more text than --max-document-bytes",
          "[inject][command]") {
  const std::string text = "a: &a \"" + std::string(1000, 'x') + "\"\nb: [*a, *a, *a, *a, *a]\n";
  CHECK(run({"inject"}, text).status == 0);
  const auto refused = run({"inject", "--max-document-bytes", "4000"}, text);
  CHECK(refused.status == 1);
  CHECK(refused.err.find("more than 4000 bytes of text") != std::string::npos);
}
