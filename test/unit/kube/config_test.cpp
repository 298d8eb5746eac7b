#include "weft/kube/config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

using namespace weft::kube;

namespace {
const std::filesystem::path kFixtures = std::filesystem::path(WEFT_KUBE_FIXTURES) / "kubeconfig";

// Sets an environment variable for one scope (unit tests run single-threaded).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};
}  // namespace

TEST_CASE("kubeconfig with inline certificate data uses the current context") {
  auto config = load_kubeconfig(kFixtures / "cert-data.yaml");
  REQUIRE(config);
  CHECK(config->server == "https://127.0.0.1:6443");  // trailing slash dropped
  CHECK(config->ca_pem == "CA-PEM\n");
  CHECK(config->client_cert_pem == "CERT-PEM\n");
  CHECK(config->client_key_pem == "KEY-PEM\n");
  CHECK(config->bearer_token.empty());
  CHECK(config->default_namespace == "shop");
  CHECK(config->source.find("context local") != std::string::npos);
}

TEST_CASE("kubeconfig context can be chosen explicitly") {
  auto config = load_kubeconfig(kFixtures / "cert-data.yaml", "other");
  REQUIRE(config);
  CHECK(config->server == "https://10.0.0.1:6443");
  CHECK(config->ca_pem.empty());
  CHECK(config->default_namespace.empty());

  auto missing = load_kubeconfig(kFixtures / "cert-data.yaml", "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::kConfig);
  CHECK(missing.error().message.find("context \"nope\" not found") != std::string::npos);
}

TEST_CASE("kubeconfig file paths resolve against the kubeconfig's directory") {
  auto config = load_kubeconfig(kFixtures / "cert-files.yaml");
  REQUIRE(config);
  CHECK(config->ca_pem == "CA-FILE\n");
  CHECK(config->client_cert_pem == "CERT-FILE\n");
  CHECK(config->client_key_pem == "KEY-FILE\n");
}

TEST_CASE("kubeconfig bearer token, IPv6 server, insecure flag and TLS server name") {
  auto config = load_kubeconfig(kFixtures / "token.yaml");
  REQUIRE(config);
  CHECK(config->server == "https://[fd00::1]:443");
  CHECK(config->bearer_token == "abc.def.ghi");
  CHECK(config->insecure_skip_tls_verify);
  CHECK(config->tls_server_name == "api.internal");
  CHECK(config->client_cert_pem.empty());
}

TEST_CASE("kubeconfig tokenFile is kept as a path to re-read") {
  auto config = load_kubeconfig(kFixtures / "token-file.yaml");
  REQUIRE(config);
  CHECK(config->token_file == (kFixtures / "token").string());
  CHECK(config->bearer_token.empty());
}

TEST_CASE("kubeconfig errors are clear and typed") {
  struct Case {
    const char* file;
    const char* expected;
  };
  auto [file, expected] =
      GENERATE(Case{"no-current-context.yaml", "no current-context set"},
               Case{"bad-yaml.yaml", "invalid kubeconfig YAML"},
               Case{"exec-plugin.yaml", "uses \"exec\", which is not supported"},
               Case{"missing-cluster.yaml", "cluster \"nowhere\" of context \"local\" not found"},
               Case{"cert-without-key.yaml", "client certificate without a key"},
               Case{"bad-base64.yaml", "certificate-authority-data is not valid base64"},
               Case{"does-not-exist.yaml", "kubeconfig file: cannot read"});
  CAPTURE(file);
  auto config = load_kubeconfig(kFixtures / file);
  REQUIRE_FALSE(config);
  CHECK(config.error().kind == ErrorKind::kConfig);
  CHECK_THAT(config.error().message, Catch::Contains(expected));
  CHECK_THAT(config.error().message, Catch::Contains(file));
}

TEST_CASE("kubeconfig from text: not a mapping, empty document") {
  auto scalar = parse_kubeconfig("just a string", "/tmp");
  REQUIRE_FALSE(scalar);
  CHECK_THAT(scalar.error().message, Catch::Contains("not a kubeconfig mapping"));
  auto empty = parse_kubeconfig("", "/tmp");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().message, Catch::Contains("no current-context"));
  auto wrong_type = parse_kubeconfig("clusters: {a: b}\ncurrent-context: x\n", "/tmp");
  REQUIRE_FALSE(wrong_type);
  CHECK_THAT(wrong_type.error().message, Catch::Contains("clusters is not a list"));

  // Wrong shapes deeper down are errors too, never exceptions.
  for (const char* text : {
           "clusters: [{name: c, cluster: {server: {a: b}}}]\n"
           "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
           "clusters: [{name: c, cluster: scalar}]\n"
           "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
           "contexts: [{name: x, context: just-text}]\ncurrent-context: x\n",
           "contexts: [{context: {cluster: c}}]\ncurrent-context: x\n",
           "clusters: [{name: c, cluster: {server: 'https://a', insecure-skip-tls-verify: "
           "maybe}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
           "current-context: [a, b]\n",
       }) {
    CAPTURE(text);
    auto config = parse_kubeconfig(text, "/tmp");
    REQUIRE_FALSE(config);
    CHECK(config.error().kind == ErrorKind::kConfig);
  }
}

TEST_CASE("KUBECONFIG lists merge with the first file winning") {
  std::string list = (kFixtures / "missing-file.yaml").string() + ":" +
                     (kFixtures / "cert-data.yaml").string() + ":" +
                     (kFixtures / "second.yaml").string();
  auto merged = load_kubeconfig_list(list);
  REQUIRE(merged);
  CHECK(merged->server == "https://127.0.0.1:6443");  // current-context and cluster of file 1
  auto extra = load_kubeconfig_list(list, "extra");
  REQUIRE(extra);
  CHECK(extra->server == "https://192.0.2.2:6443");
  CHECK(extra->client_cert_pem == "CERT-PEM\n");  // user from the first file

  auto none = load_kubeconfig_list("/nonexistent/a:/nonexistent/b");
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("none of the kubeconfig files"));
}

TEST_CASE("in-cluster configuration from a service-account directory") {
  auto dir =
      std::filesystem::temp_directory_path() / ("weft-kube-sa-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "sa-token\n";
  std::ofstream(dir / "ca.crt") << "SA-CA";
  std::ofstream(dir / "namespace") << "weft-system\n";

  auto config = load_in_cluster_config(dir, "10.96.0.1", "443");
  REQUIRE(config);
  CHECK(config->server == "https://10.96.0.1:443");
  CHECK(config->token_file == (dir / "token").string());
  CHECK(config->ca_pem == "SA-CA");
  CHECK(config->default_namespace == "weft-system");

  auto v6 = load_in_cluster_config(dir, "fd00::1", "6443");
  REQUIRE(v6);
  CHECK(v6->server == "https://[fd00::1]:6443");

  auto no_env = load_in_cluster_config(dir, "", "443");
  REQUIRE_FALSE(no_env);
  CHECK_THAT(no_env.error().message, Catch::Contains("KUBERNETES_SERVICE_HOST"));

  std::filesystem::remove(dir / "token");
  auto no_token = load_in_cluster_config(dir, "10.96.0.1", "443");
  REQUIRE_FALSE(no_token);
  CHECK_THAT(no_token.error().message, Catch::Contains("service-account token"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("default loading order: explicit, in-cluster, KUBECONFIG") {
  auto dir =
      std::filesystem::temp_directory_path() / ("weft-kube-order-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "sa-token";
  std::ofstream(dir / "ca.crt") << "SA-CA";
  ScopedEnv sa_dir(std::string(kServiceAccountDirEnv).c_str(), dir.c_str());
  ScopedEnv kubeconfig("KUBECONFIG", (kFixtures / "token.yaml").c_str());

  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
    auto explicit_path = load_default_config((kFixtures / "cert-files.yaml").string());
    REQUIRE(explicit_path);
    CHECK(explicit_path->ca_pem == "CA-FILE\n");
    auto in_cluster = load_default_config();
    REQUIRE(in_cluster);
    CHECK(in_cluster->server == "https://127.0.0.1:6443");
    CHECK(in_cluster->ca_pem == "SA-CA");
  }
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
    auto from_env = load_default_config();
    REQUIRE(from_env);
    CHECK(from_env->bearer_token == "abc.def.ghi");
  }
  {
    // A named context (kubectl --context) comes from a kubeconfig, never from
    // the in-cluster configuration, which has none.
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
    auto named = load_default_config("", "remote");
    REQUIRE(named);
    CHECK(named->bearer_token == "abc.def.ghi");
    auto missing = load_default_config("", "nope");
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("context \"nope\" not found"));
    auto explicit_named = load_default_config((kFixtures / "token.yaml").string(), "remote");
    REQUIRE(explicit_named);
    CHECK(explicit_named->server == "https://[fd00::1]:443");
  }
  std::filesystem::remove_all(dir);
}
