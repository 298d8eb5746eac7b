#include "proxy/settings.h"

#include <catch2/catch.hpp>
#include <map>

#include "proxy/tls/tls_context.h"
#include "weft/constants.h"
#include "weft/kube/config.h"

using namespace weft::proxy;

TEST_CASE("settings default to the injected values", "[settings]") {
  auto settings = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings.value().outbound_port == weft::kProxyOutboundPort);
  CHECK(settings.value().inbound_port == weft::kProxyInboundPort);
  CHECK(settings.value().admin_port == weft::kProxyAdminPort);
  CHECK(settings.value().config_path == "/var/run/weft/config/config.json");
  CHECK(settings.value().workers == 1);
  CHECK(settings.value().detect_timeout == std::chrono::seconds(1));
  CHECK_FALSE(settings.value().outbound_fallback.has_value());
  CHECK(settings.value().service_account_dir == weft::kube::kServiceAccountDir);
  CHECK(settings.value().kube_watch == "auto");
  CHECK(settings.value().kube_watch_timeout == std::chrono::seconds(290));
}

TEST_CASE("a flag wins over the environment, which wins over the default", "[settings]") {
  auto settings =
      parse_settings({"--admin-port", "9000", "--workers=2"},
                     weft::flags::environment_of({{"WEFT_PROXY_ADMIN_PORT", "8000"},
                                                  {"WEFT_PROXY_OUTBOUND_PORT", "7000"},
                                                  {"WEFT_PROXY_OPAQUE_PORTS", "3306,5432"},
                                                  {"WEFT_PROXY_SHUTDOWN_GRACE", "1m30s"}}));
  REQUIRE(settings.has_value());
  CHECK(settings.value().admin_port == 9000);
  CHECK(settings.value().outbound_port == 7000);
  CHECK(settings.value().workers == 2);
  CHECK(settings.value().opaque_ports == weft::PortSet({{3306, 3306}, {5432, 5432}}));
  CHECK(settings.value().shutdown_grace == std::chrono::seconds(90));
}

TEST_CASE("bad settings are usage errors naming the flag", "[settings]") {
  const auto error_of = [](std::vector<std::string> args) {
    auto settings = parse_settings(args, weft::flags::environment_of({}));
    REQUIRE_FALSE(settings.has_value());
    return settings.error().message;
  };
  CHECK_THAT(error_of({"--admin-port", "70000"}), Catch::Contains("--admin-port"));
  CHECK_THAT(error_of({"--workers", "0"}), Catch::Contains("--workers"));
  CHECK_THAT(error_of({"--detect-timeout", "soon"}), Catch::Contains("--detect-timeout"));
  CHECK_THAT(error_of({"--outbound-fallback", "example.com:80"}),
             Catch::Contains("not an IPv4 or IPv6 address"));
  CHECK_THAT(error_of({"--no-such-flag", "1"}), Catch::Contains("unknown flag --no-such-flag"));
  CHECK_THAT(error_of({"--config"}), Catch::Contains("needs a value"));
  CHECK_THAT(error_of({"--inbound-port", "4140"}), Catch::Contains("must differ"));
  CHECK_THAT(error_of({"--kube-watch", "maybe"}), Catch::Contains("auto, on or off"));
  CHECK_THAT(error_of({"--log-level", "loud"}), Catch::Contains("--log-level"));
}

TEST_CASE("--help returns the usage text listing every flag and variable", "[settings]") {
  bool help = false;
  auto settings = parse_settings({"--help"}, weft::flags::environment_of({}), &help);
  REQUIRE_FALSE(settings.has_value());
  CHECK(help);
  CHECK_THAT(settings.error().message, Catch::Contains("--outbound-fallback"));
  CHECK_THAT(settings.error().message, Catch::Contains("WEFT_PROXY_CONFIG"));
}

TEST_CASE("fallbacks are IP:PORT, and empty means none", "[settings]") {
  // The host:port kind itself is tested in test/unit/lib/flags_test.cpp.
  auto set =
      parse_settings({"--outbound-fallback", "[::1]:8080", "--inbound-fallback=127.0.0.1:80"},
                     weft::flags::environment_of({}));
  REQUIRE(set.has_value());
  CHECK(set.value().outbound_fallback == HostPort{"::1", 8080});
  CHECK(set.value().inbound_fallback == HostPort{"127.0.0.1", 80});
  auto cleared = parse_settings(
      {"--outbound-fallback="},
      weft::flags::environment_of({{"WEFT_PROXY_OUTBOUND_FALLBACK", "127.0.0.1:1"}}));
  REQUIRE(cleared.has_value());
  CHECK_FALSE(cleared.value().outbound_fallback.has_value());
  CHECK_FALSE(parse_settings({"--outbound-fallback=127.0.0.1:0"}, weft::flags::environment_of({}))
                  .has_value());
}

TEST_CASE("the environment the webhook injects is the one the proxy reads", "[settings]") {
  // The webhook writes these names (lib/weft/constants.h) into the weft-proxy
  // container; a drift between the two programs would silently drop them.
  auto settings = parse_settings(
      {}, weft::flags::environment_of({{std::string(weft::kEnvInboundPort), "5143"},
                                       {std::string(weft::kEnvOutboundPort), "5140"},
                                       {std::string(weft::kEnvAdminPort), "5191"},
                                       {std::string(weft::kEnvLogLevel), "debug"},
                                       {std::string(weft::kEnvOpaquePorts), "3306,5432"},
                                       {std::string(weft::kEnvPodNamespace), "shop"}}));
  REQUIRE(settings.has_value());
  CHECK(settings.value().inbound_port == 5143);
  CHECK(settings.value().outbound_port == 5140);
  CHECK(settings.value().admin_port == 5191);
  CHECK(settings.value().log_level == weft::LogLevel::kDebug);
  CHECK(settings.value().opaque_ports == weft::PortSet({{3306, 3306}, {5432, 5432}}));
  CHECK(settings.value().pod_namespace == "shop");
}

TEST_CASE("identity settings: defaults, the webhook's variables, bad values", "[settings]") {
  auto defaults = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(defaults.has_value());
  CHECK(defaults->identity_address == HostPort{"weft-identity.weft-system.svc", 8443});
  CHECK(defaults->identity_token_file == "/var/run/weft/identity/token");
  CHECK(defaults->identity_renew_fraction == 0.7);
  CHECK(defaults->identity_request_timeout == std::chrono::seconds(10));
  CHECK(defaults->identity_max_response_bytes == 64 * 1024);
  CHECK(defaults->service_account.empty());

  // The names the webhook injects are the proxy's own variables.
  auto injected = parse_settings(
      {}, weft::flags::environment_of({{std::string(weft::kEnvIdentityAddress), "127.0.0.1:9443"},
                                       {std::string(weft::kEnvIdentityTokenFile), "/tmp/token"},
                                       {std::string(weft::kEnvServiceAccount), "web"},
                                       {"WEFT_PROXY_IDENTITY_RENEW_FRACTION", "0.5"}}));
  REQUIRE(injected.has_value());
  CHECK(injected->identity_address == HostPort{"127.0.0.1", 9443});
  CHECK(injected->identity_token_file == "/tmp/token");
  CHECK(injected->service_account == "web");
  CHECK(injected->identity_renew_fraction == 0.5);

  const auto error_of = [](std::vector<std::string> args) {
    auto settings = parse_settings(args, weft::flags::environment_of({}));
    REQUIRE_FALSE(settings.has_value());
    return settings.error().message;
  };
  CHECK_THAT(error_of({"--identity-address", "weft-identity"}),
             Catch::Contains("--identity-address"));
  CHECK_THAT(error_of({"--identity-renew-fraction", "1.5"}),
             Catch::Contains("--identity-renew-fraction"));
  CHECK_THAT(error_of({"--identity-token-file="}), Catch::Contains("--identity-token-file"));
  CHECK_THAT(error_of({"--identity-max-response-bytes", "10"}),
             Catch::Contains("--identity-max-response-bytes"));
}

TEST_CASE("OpenSSL's built-in EC key path is on by default and can be turned off", "[settings]") {
  const auto defaults = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(defaults.has_value());
  CHECK(defaults.value().openssl_legacy_ec_keys);
  const auto off =
      parse_settings({"--openssl-legacy-ec-keys=false"}, weft::flags::environment_of({}));
  REQUIRE(off.has_value());
  CHECK_FALSE(off.value().openssl_legacy_ec_keys);
  const auto from_environment = parse_settings(
      {}, weft::flags::environment_of({{"WEFT_PROXY_OPENSSL_LEGACY_EC_KEYS", "false"}}));
  REQUIRE(from_environment.has_value());
  CHECK_FALSE(from_environment.value().openssl_legacy_ec_keys);
}

TEST_CASE("the peer's certificate chain limit: default, flag, bounds", "[settings]") {
  const auto defaults = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(defaults.has_value());
  CHECK(defaults.value().tls_max_peer_chain_bytes == kDefaultMaxPeerChainBytes);
  const auto set = parse_settings({"--tls-max-certificate-chain-bytes", "16384"},
                                  weft::flags::environment_of({}));
  REQUIRE(set.has_value());
  CHECK(set.value().tls_max_peer_chain_bytes == 16384);
  CHECK_FALSE(parse_settings({"--tls-max-certificate-chain-bytes", "100"},
                             weft::flags::environment_of({})));
}
