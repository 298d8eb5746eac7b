#include "weft/kube/client.h"

#include <catch2/catch.hpp>
#include <functional>
#include <vector>

using namespace weft::kube;

// Configuration checks happen in from_config, before any request.
TEST_CASE("from_config refuses unusable configurations with kConfig") {
  ClientConfig base;
  base.server = "https://127.0.0.1:6443/";
  auto ok = Client::from_config(base);
  REQUIRE(ok);
  CHECK((*ok)->config().server == "https://127.0.0.1:6443");
  CHECK((*ok)->requests_sent() == 0);

  struct Case {
    const char* name;
    std::function<void(ClientConfig&)> change;
    const char* expected;
  };
  std::vector<Case> cases = {
      {"no scheme", [](ClientConfig& c) { c.server = "127.0.0.1:6443"; }, "not an http(s) URL"},
      {"empty", [](ClientConfig& c) { c.server.clear(); }, "not an http(s) URL"},
      {"cert without key", [](ClientConfig& c) { c.client_cert_pem = "CERT"; }, "needs its key"},
      {"key without cert", [](ClientConfig& c) { c.client_key_pem = "KEY"; }, "needs its key"},
      {"missing token file", [](ClientConfig& c) { c.token_file = "/nonexistent/token"; },
       "token file: cannot read /nonexistent/token"},
      {"tls-server-name not a host", [](ClientConfig& c) { c.tls_server_name = "a/b"; },
       "not a host name"},
      {"tls-server-name with port", [](ClientConfig& c) { c.tls_server_name = "a:1"; },
       "not a host name"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ClientConfig config = base;
    c.change(config);
    auto client = Client::from_config(config);
    REQUIRE_FALSE(client);
    CHECK(client.error().kind == ErrorKind::kConfig);
    CHECK_THAT(client.error().message, Catch::Contains(c.expected));
  }
}

TEST_CASE("a TLS server name is accepted for IPv4, IPv6 and default ports") {
  for (const char* server : {"https://127.0.0.1:6443", "https://[::1]:6443", "https://10.0.0.1",
                             "https://10.0.0.1/prefix"}) {
    CAPTURE(server);
    ClientConfig config;
    config.server = server;
    config.tls_server_name = "kubernetes.default.svc";
    auto client = Client::from_config(config);
    REQUIRE(client);
    CHECK((*client)->config().tls_server_name == "kubernetes.default.svc");
  }
}

TEST_CASE("requests with bad addressing fail before anything is sent") {
  ClientConfig config;
  config.server = "https://127.0.0.1:1";
  auto client = *Client::from_config(config);
  CHECK(client->get(resources::config_maps(), "", "x").is_error(ErrorKind::kBadRequest));
  CHECK(client->get(resources::config_maps(), "ns", "../secrets").is_error(ErrorKind::kBadRequest));
  CHECK(client->create(resources::config_maps(), {{"metadata", {{"name", "x"}}}})
            .is_error(ErrorKind::kBadRequest));  // namespaced, no namespace
  CHECK(client->create(resources::config_maps(), nlohmann::json::array())
            .is_error(ErrorKind::kBadRequest));
  CHECK(client
            ->apply(resources::config_maps(), {{"metadata", {{"name", "x"}, {"namespace", "ns"}}}},
                    {})
            .is_error(ErrorKind::kBadRequest));  // no field manager
  CHECK(client->list(resources::namespaces(), "ns").is_error(ErrorKind::kBadRequest));
  CHECK(client->requests_sent() == 0);
}
