#include "webhook/flags.h"

#include <catch2/catch.hpp>

using weft::webhook::parse_flags;

TEST_CASE("flags in both Kubernetes forms", "[flags]") {
  auto flags = parse_flags({"--tls-cert-file=/c", "--tls-private-key-file", "/k", "--port=0",
                            "--config", "/cfg.json", "--threads=4", "--kubernetes-version=v1.30.0",
                            "--provision-certificates", "--certificate-dns-names=a,b"});
  REQUIRE(flags);
  CHECK(flags->tls_cert_file == "/c");
  CHECK(flags->tls_private_key_file == "/k");
  CHECK(flags->port == 0);
  CHECK(flags->config_file == "/cfg.json");
  CHECK(flags->threads == 4);
  CHECK(flags->kubernetes_version == "v1.30.0");
  CHECK(flags->provision_certificates);
  CHECK(flags->certificate_dns_names == std::vector<std::string>{"a", "b"});

  auto defaults = parse_flags({"--tls-cert-file=/c", "--tls-private-key-file=/k"});
  REQUIRE(defaults);
  CHECK(defaults->port == 8443);
  CHECK_FALSE(defaults->provision_certificates);
}

TEST_CASE("--help needs nothing else", "[flags]") {
  auto flags = parse_flags({"--help"});
  REQUIRE(flags);
  CHECK(flags->help);
  CHECK_THAT(weft::webhook::usage(), Catch::Contains("--tls-private-key-file"));
}

TEST_CASE("flag errors are reported", "[flags]") {
  const auto message = [](std::vector<std::string> args) {
    auto flags = parse_flags(args);
    REQUIRE_FALSE(flags);
    return flags.error().message;
  };
  CHECK_THAT(message({}),
             Catch::Contains("--tls-cert-file and --tls-private-key-file are required"));
  CHECK_THAT(message({"--tls-cert-file=/c", "--tls-private-key-file=/k", "--port=99999"}),
             Catch::Contains("--port: '99999' is not a number from 0 to 65535"));
  CHECK_THAT(message({"--tls-cert-file=/c", "--tls-private-key-file=/k", "--port=12x"}),
             Catch::Contains("--port"));
  CHECK_THAT(message({"--bogus=1"}), Catch::Contains("unknown flag --bogus"));
  CHECK_THAT(message({"--port"}), Catch::Contains("--port needs a value"));
  CHECK_THAT(message({"stray"}), Catch::Contains("unexpected argument 'stray'"));
  CHECK_THAT(message({"--help=maybe"}), Catch::Contains("takes no value"));
  CHECK_THAT(message({"--certificate-secret=noslash"}), Catch::Contains("namespace/name"));
}

TEST_CASE("repeated --certificate-dns-names collect, other flags take the last", "[flags]") {
  auto flags =
      parse_flags({"--tls-cert-file=/c", "--tls-private-key-file=/k", "--certificate-dns-names=a,b",
                   "--certificate-dns-names", "c", "--port=1", "--port=2", "--log-level=debug"});
  REQUIRE(flags);
  CHECK(flags->certificate_dns_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(flags->port == 2);
  CHECK(flags->log_level == weft::LogLevel::kDebug);
  auto bad = parse_flags({"--tls-cert-file=/c", "--tls-private-key-file=/k", "--log-level=loud"});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("--log-level: 'loud'"));
}
