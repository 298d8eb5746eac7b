// Authentication and authorization against the real apiserver: a
// ServiceAccount token from TokenRequest (kubeconfig with a token, and the
// in-cluster layout with a token file that is re-read when it changes).

#include <filesystem>
#include <fstream>

#include "cluster.h"

using namespace weft::kube;
using namespace std::chrono_literals;

namespace {

// A fresh token of ServiceAccount `reader` (TokenRequest).
std::string request_token(Client& admin, const std::string& ns) {
  RawRequest token_request;
  token_request.method = "POST";
  token_request.path = *object_path(resources::service_accounts(), ns, "reader", "token");
  token_request.body = nlohmann::json{{"apiVersion", "authentication.k8s.io/v1"},
                                      {"kind", "TokenRequest"},
                                      {"spec", {{"expirationSeconds", 3600}}}}
                           .dump();
  auto answer = admin.request(token_request);
  INFO((answer ? "" : answer.error().message));
  REQUIRE(answer);
  return (*answer)["status"]["token"];
}

// A ServiceAccount allowed to read ConfigMaps of its own namespace only; returns a token.
std::string reader_token(Client& admin, const std::string& ns) {
  REQUIRE(admin.create(resources::service_accounts(),
                       {{"metadata", {{"name", "reader"}, {"namespace", ns}}}}));
  kube_it::kubectl("-n " + ns +
                   " create role cm-reader --verb=get,list,watch --resource=configmaps");
  kube_it::kubectl("-n " + ns + " create rolebinding cm-reader --role=cm-reader --serviceaccount=" +
                   ns + ":reader");
  return request_token(admin, ns);
}

}  // namespace

TEST_CASE("a restricted token gets Forbidden, a bad token Unauthorized", "[forbidden]") {
  auto admin = kube_it::admin_client();
  kube_it::TestNamespace ns(*admin, "kube-rbac");
  std::string token = reader_token(*admin, ns.name());

  // A kubeconfig with that token, loaded through the normal path.
  auto dir =
      std::filesystem::temp_directory_path() / ("weft-kube-rbac-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto admin_config = kube_it::admin_config();
  std::ofstream(dir / "ca.crt") << admin_config.ca_pem;
  std::ofstream(dir / "kubeconfig")
      << "apiVersion: v1\nkind: Config\n"
      << "clusters:\n- name: c\n  cluster:\n    server: " << admin_config.server
      << "\n    certificate-authority: ca.crt\n"
      << "users:\n- name: reader\n  user:\n    token: " << token
      << "\ncontexts:\n- name: r\n  context: {cluster: c, user: reader}\n"
      << "current-context: r\n";
  auto config = load_kubeconfig(dir / "kubeconfig");
  REQUIRE(config);
  auto reader = kube_it::client_for(*config);

  // Allowed: read ConfigMaps of its namespace (RBAC may take a moment to see the binding).
  CHECK(
      kube_it::eventually([&] { return bool(reader->list(resources::config_maps(), ns.name())); }));
  auto forbidden = reader->list(resources::config_maps(), "kube-system");
  REQUIRE(forbidden.is_error(ErrorKind::kForbidden));
  CHECK(forbidden.error().http_status == 403);
  CHECK_THAT(forbidden.error().message,
             Catch::Contains("system:serviceaccount:" + ns.name() + ":reader"));
  auto write = reader->create(resources::config_maps(), kube_it::config_map(ns.name(), "nope"));
  CHECK(write.is_error(ErrorKind::kForbidden));

  ClientConfig bad = *config;
  bad.bearer_token = "not-a-token";
  auto unauthorized = kube_it::client_for(bad)->get(resources::namespaces(), "", "default");
  CHECK(unauthorized.is_error(ErrorKind::kUnauthorized));
  CHECK(unauthorized.error().http_status == 401);
  std::filesystem::remove_all(dir);
}

TEST_CASE("in-cluster configuration from a service-account directory, token re-read on change",
          "[in_cluster]") {
  auto admin = kube_it::admin_client();
  kube_it::TestNamespace ns(*admin, "kube-incluster");
  std::string token = reader_token(*admin, ns.name());
  auto admin_config = kube_it::admin_config();

  auto dir =
      std::filesystem::temp_directory_path() / ("weft-kube-sa-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << token;
  std::ofstream(dir / "ca.crt") << admin_config.ca_pem;
  std::ofstream(dir / "namespace") << ns.name();
  // The local apiserver's certificate is valid for 127.0.0.1, like a pod's
  // KUBERNETES_SERVICE_HOST would be for the kubernetes Service.
  auto port = admin_config.server.substr(admin_config.server.rfind(':') + 1);
  setenv(std::string(kServiceAccountDirEnv).c_str(), dir.c_str(), 1);
  setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", port.c_str(), 1);
  auto config = load_default_config();  // no --kubeconfig: in-cluster wins over $KUBECONFIG
  unsetenv("KUBERNETES_SERVICE_HOST");
  REQUIRE(config);
  CHECK_THAT(config->source, Catch::Contains("in-cluster"));
  CHECK(config->default_namespace == ns.name());
  auto client = kube_it::client_for(*config);
  CHECK(kube_it::eventually(
      [&] { return bool(client->list(resources::config_maps(), config->default_namespace)); }));

  // kubelet replaces the token: a broken one is picked up (401), then a good one again.
  std::ofstream(dir / "token", std::ios::trunc) << "rotated-but-invalid";
  CHECK(kube_it::eventually([&] {
    return client->list(resources::config_maps(), ns.name()).is_error(ErrorKind::kUnauthorized);
  }));
  std::ofstream(dir / "token", std::ios::trunc) << request_token(*admin, ns.name());
  CHECK(
      kube_it::eventually([&] { return bool(client->list(resources::config_maps(), ns.name())); }));
  std::filesystem::remove_all(dir);
}
