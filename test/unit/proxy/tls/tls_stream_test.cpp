// mTLS between two Streams over a real loopback connection: the handshake
// with the proxies' contexts, each refusal with its reason (wrong anchor,
// expired, wrong identity, no client certificate, no mesh ALPN), then bytes
// both ways, a half-close by close_notify, and the ClientHello bytes read
// before the handshake handed to OpenSSL first.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/layers/connection.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/stream.h"
#include "proxy/tls/tls_context.h"
#include "test/unit/proxy/loopback_pair.h"
#include "test/unit/proxy/tls/test_certificates.h"
#include "weft/openssl.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

const std::string kServerId = "spiffe://cluster.local/ns/shop/sa/web";
const std::string kClientId = "spiffe://cluster.local/ns/shop/sa/front";

struct Pair {
  Stream server;
  Stream client;
};

Pair connect_pair(asio::io_context& io) {
  testing::Connected connected = testing::connect_pair(io);
  return {Stream(std::move(connected.near)), Stream(std::move(connected.far))};
}

SslCtxPtr context(const Credentials& credentials, TlsRole role) {
  auto made = make_tls_context(credentials, role);
  REQUIRE(made);
  return std::move(*made);
}

// The contexts of a server proxy (kServerId) and a client proxy (kClientId)
// under one anchor: the handshake that succeeds.
struct MeshContexts {
  SslCtxPtr server;
  SslCtxPtr client;
};

MeshContexts mesh_contexts() {
  const auto ca = test::make_test_ca("anchor");
  return {context(test::make_test_credentials(ca, kServerId), TlsRole::kServer),
          context(test::make_test_credentials(ca, kClientId), TlsRole::kClient)};
}

struct Outcome {
  bool server_ok = false;
  bool client_ok = false;
  HandshakeFailure server_failure = HandshakeFailure::kProtocol;
  HandshakeFailure client_failure = HandshakeFailure::kProtocol;
  std::string client_seen_by_server;
  std::optional<HandshakeFailure> identity_check;
};

// Runs both handshakes; the client then checks the server's identity.
Outcome handshake(asio::io_context& io, Pair& pair, SSL_CTX* server_ctx, SSL_CTX* client_ctx,
                  const std::string& expected = kServerId, std::string received = {}) {
  Outcome outcome;
  REQUIRE(pair.server.start_tls(server_ctx, TlsRole::kServer, std::move(received)));
  REQUIRE(pair.client.start_tls(client_ctx, TlsRole::kClient, {}, sni_for_identity(expected)));
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        outcome.server_ok = co_await pair.server.handshake(outcome.server_failure);
        if (outcome.server_ok) outcome.client_seen_by_server = peer_spiffe_id(pair.server.ssl());
        if (!outcome.server_ok) {
          error_code ignored;
          pair.server.close(ignored);
        }
      },
      asio::detached);
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        outcome.client_ok = co_await pair.client.handshake(outcome.client_failure);
        if (outcome.client_ok) {
          outcome.identity_check = check_server_identity(pair.client.ssl(), expected);
        } else {
          error_code ignored;
          pair.client.close(ignored);
        }
      },
      asio::detached);
  io.run_for(5s);
  io.restart();
  return outcome;
}

}  // namespace

TEST_CASE("two proxies' contexts agree on mTLS and name each other", "[tls]") {
  const bool legacy_ec_keys = GENERATE(false, true);
  CAPTURE(legacy_ec_keys);
  const test::LegacyEcKeysScope path(legacy_ec_keys);
  const auto [server_ctx, client_ctx] = mesh_contexts();
  asio::io_context io;
  Pair pair = connect_pair(io);
  const Outcome outcome = handshake(io, pair, server_ctx.get(), client_ctx.get());
  REQUIRE(outcome.server_ok);
  REQUIRE(outcome.client_ok);
  CHECK_FALSE(outcome.identity_check);
  CHECK(outcome.client_seen_by_server == kClientId);
  CHECK(SSL_version(pair.client.ssl()) == TLS1_3_VERSION);
  const unsigned char* alpn = nullptr;
  unsigned alpn_size = 0;
  SSL_get0_alpn_selected(pair.server.ssl(), &alpn, &alpn_size);
  CHECK(std::string_view(reinterpret_cast<const char*>(alpn), alpn_size) == kMeshAlpn);
  CHECK(std::string(SSL_get_servername(pair.server.ssl(), TLSEXT_NAMETYPE_host_name)) ==
        "web.shop.serviceaccount.identity.weft.cluster.local");
  // Each side sent the chain it was issued (here the leaf alone), not a chain
  // OpenSSL built from its trust store with the anchor in it: the peer would
  // parse one certificate more per handshake. (A server's list leaves out
  // the client's leaf; a client's starts with the server's.)
  CHECK(sk_X509_num(SSL_get_peer_cert_chain(pair.server.ssl())) == 0);
  CHECK(sk_X509_num(SSL_get_peer_cert_chain(pair.client.ssl())) == 1);
  // The key exchange is X25519 (cheaper than P-256 in OpenSSL 3.0: no check
  // of the peer's point), with no HelloRetryRequest for it.
  CHECK(SSL_get_negotiated_group(pair.server.ssl()) == NID_X25519);
  CHECK(SSL_get_negotiated_group(pair.client.ssl()) == NID_X25519);

  // Bytes both ways, gathered writes included; then the client half-closes
  // (close_notify) and still reads the server's answer.
  std::string server_got;
  std::string client_got;
  bool server_saw_eof = false;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        error_code ec;
        char buffer[64];
        while (true) {
          const std::size_t n =
              co_await pair.server.async_read_some(asio::buffer(buffer), redirect(ec));
          if (ec) break;
          server_got.append(buffer, n);
        }
        server_saw_eof = ec == asio::error::eof;
        co_await asio::async_write(pair.server, asio::buffer(std::string_view("after")),
                                   redirect(ec));
        pair.server.shutdown_send(ec);
      },
      asio::detached);
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        error_code ec;
        const std::array<asio::const_buffer, 3> pieces{asio::buffer(std::string_view("GET ")),
                                                       asio::buffer(std::string_view("/ ")),
                                                       asio::buffer(std::string_view("x"))};
        co_await asio::async_write(pair.client, pieces, redirect(ec));
        pair.client.shutdown_send(ec);
        char buffer[64];
        while (true) {
          const std::size_t n =
              co_await pair.client.async_read_some(asio::buffer(buffer), redirect(ec));
          if (ec) break;
          client_got.append(buffer, n);
        }
      },
      asio::detached);
  io.run_for(5s);
  CHECK(server_got == "GET / x");
  CHECK(server_saw_eof);
  CHECK(client_got == "after");
}

TEST_CASE("each refused handshake is refused with its reason", "[tls]") {
  // On both of OpenSSL's paths to EC keys (proxy/tls/legacy_ec_keys.h).
  const bool legacy_ec_keys = GENERATE(false, true);
  CAPTURE(legacy_ec_keys);
  const test::LegacyEcKeysScope path(legacy_ec_keys);
  const auto ca = test::make_test_ca("anchor");
  const auto server = test::make_test_credentials(ca, kServerId);
  const auto client = test::make_test_credentials(ca, kClientId);
  const auto server_is = [](Credentials credentials) {
    return [credentials] { return context(credentials, TlsRole::kServer); };
  };
  const auto client_is = [](Credentials credentials) {
    return [credentials] { return context(credentials, TlsRole::kClient); };
  };
  // Each side's expected refusal: its handshake fails with it, or (identity)
  // the client's handshake succeeds and the server's identity check refuses.
  struct Refusal {
    std::string name;
    std::function<SslCtxPtr()> server_ctx;
    std::function<SslCtxPtr()> client_ctx;
    std::optional<HandshakeFailure> client;
    std::optional<HandshakeFailure> server;
    std::optional<HandshakeFailure> identity;
  };
  const std::vector<Refusal> refusals{
      {"a server under another anchor: an unknown authority, both ways",
       server_is(test::make_test_credentials(test::make_test_ca("other"), kServerId)),
       client_is(client), HandshakeFailure::kUnknownAuthority, HandshakeFailure::kUnknownAuthority,
       std::nullopt},
      {"an expired server certificate",
       server_is(test::make_test_credentials(ca, kServerId, -2h, -1h)), client_is(client),
       HandshakeFailure::kExpired, std::nullopt, std::nullopt},
      {"an expired client certificate", server_is(server),
       client_is(test::make_test_credentials(ca, kClientId, -2h, -1h)), std::nullopt,
       HandshakeFailure::kExpired, std::nullopt},
      {"a server with another identity",
       server_is(test::make_test_credentials(ca, "spiffe://cluster.local/ns/shop/sa/db")),
       client_is(client), std::nullopt, std::nullopt, HandshakeFailure::kWrongIdentity},
      {"a server whose certificate names no SPIFFE ID",
       [&] {
         // (A server context refuses such credentials: the leaf is swapped in after.)
         auto bare = context(server, TlsRole::kServer);
         const auto no_id = test::make_test_credentials(ca, "");
         REQUIRE(SSL_CTX_use_certificate(
                     bare.get(), weft::openssl::read_certificate(no_id.chain_pem).get()) == 1);
         REQUIRE(SSL_CTX_use_PrivateKey(bare.get(),
                                        weft::openssl::read_private_key(no_id.key_pem).get()) == 1);
         return bare;
       },
       client_is(client), std::nullopt, std::nullopt, HandshakeFailure::kNoIdentity},
      {"a server leaf whose signature was altered", server_is([&] {
         auto altered = test::make_test_credentials(ca, kServerId);
         altered.chain_pem = test::with_altered_signature(altered.chain_pem);
         return altered;
       }()),
       client_is(client), HandshakeFailure::kBadCertificate, std::nullopt, std::nullopt},
      {"a client leaf whose signature was altered", server_is(server), client_is([&] {
         auto altered = test::make_test_credentials(ca, kClientId);
         altered.chain_pem = test::with_altered_signature(altered.chain_pem);
         return altered;
       }()),
       std::nullopt, HandshakeFailure::kBadCertificate, std::nullopt},
      {"a client chain over the server's limit",
       [&] {
         auto made = make_tls_context(server, TlsRole::kServer, 256);
         REQUIRE(made);
         return std::move(*made);
       },
       client_is(client), std::nullopt, HandshakeFailure::kChainTooLarge, std::nullopt},
      {"a server chain over the client's limit", server_is(server),
       [&] {
         auto made = make_tls_context(client, TlsRole::kClient, 256);
         REQUIRE(made);
         return std::move(*made);
       },
       HandshakeFailure::kChainTooLarge, std::nullopt, std::nullopt},
      {"a client of another trust domain under the same anchor", server_is(server),
       client_is(test::make_test_credentials(ca, "spiffe://other.example/ns/shop/sa/front")),
       std::nullopt, HandshakeFailure::kWrongTrustDomain, std::nullopt},
      {"a client whose SPIFFE ID names no workload", server_is(server),
       client_is(test::make_test_credentials(ca, "spiffe://cluster.local/front")), std::nullopt,
       HandshakeFailure::kNoIdentity, std::nullopt},
      {"a client without a certificate", server_is(server),
       [] {
         // A TLS 1.3 client offering the mesh ALPN but presenting no certificate.
         SslCtxPtr bare(SSL_CTX_new(TLS_client_method()));
         SSL_CTX_set_min_proto_version(bare.get(), TLS1_3_VERSION);
         SSL_CTX_set_verify(bare.get(), SSL_VERIFY_NONE, nullptr);
         SSL_CTX_set_alpn_protos(bare.get(),
                                 reinterpret_cast<const unsigned char*>("\x0cweft.io/mesh"), 13);
         return bare;
       },
       std::nullopt, HandshakeFailure::kNoClientCertificate, std::nullopt},
      {"a client that does not offer the mesh protocol", server_is(server),
       [&] {
         auto h2_only = context(client, TlsRole::kClient);
         SSL_CTX_set_alpn_protos(h2_only.get(), reinterpret_cast<const unsigned char*>("\x02h2"),
                                 3);
         return h2_only;
       },
       std::nullopt, HandshakeFailure::kProtocol, std::nullopt},
  };
  for (const Refusal& refusal : refusals) {
    DYNAMIC_SECTION(refusal.name) {
      const auto server_ctx = refusal.server_ctx();
      const auto client_ctx = refusal.client_ctx();
      asio::io_context io;
      Pair pair = connect_pair(io);
      const Outcome outcome = handshake(io, pair, server_ctx.get(), client_ctx.get());
      if (refusal.client) {
        CHECK_FALSE(outcome.client_ok);
        CHECK(outcome.client_failure == *refusal.client);
      }
      if (refusal.server) {
        CHECK_FALSE(outcome.server_ok);
        CHECK(outcome.server_failure == *refusal.server);
      }
      if (refusal.identity) {
        REQUIRE(outcome.client_ok);
        CHECK(outcome.identity_check == *refusal.identity);
      }
    }
  }
}

TEST_CASE("a peer that offers only P-256 for the key exchange is served on both EC paths",
          "[tls]") {
  const bool legacy_ec_keys = GENERATE(false, true);
  CAPTURE(legacy_ec_keys);
  const test::LegacyEcKeysScope path(legacy_ec_keys);
  auto [server_ctx, client_ctx] = mesh_contexts();
  REQUIRE(SSL_CTX_set1_groups_list(client_ctx.get(), "P-256") == 1);
  asio::io_context io;
  Pair pair = connect_pair(io);
  const Outcome outcome = handshake(io, pair, server_ctx.get(), client_ctx.get());
  REQUIRE(outcome.server_ok);
  REQUIRE(outcome.client_ok);
  CHECK(outcome.client_seen_by_server == kClientId);
  CHECK(SSL_get_negotiated_group(pair.server.ssl()) == NID_X9_62_prime256v1);
}

TEST_CASE("the ClientHello read by detection is handed to the handshake", "[tls]") {
  const auto [server_ctx, client_ctx] = mesh_contexts();
  asio::io_context io;
  Pair pair = connect_pair(io);
  // The client starts; the server side reads its hello as detection does.
  REQUIRE(pair.client.start_tls(client_ctx.get(), TlsRole::kClient, {}, "a.b"));
  ERR_clear_error();
  SSL_do_handshake(pair.client.ssl());  // writes the hello, wants the answer
  std::string first;
  while (parse_client_hello(first).status == ClientHello::Status::kNeedMoreBytes) {
    char buffer[512];
    first.append(buffer, pair.server.lowest_layer().read_some(asio::buffer(buffer)));
  }
  REQUIRE(parse_client_hello(first).offers(kMeshAlpn));
  // (handshake() starts the client again: start_tls on a started stream
  // would replace its session, so the test drives the client by hand.)
  HandshakeFailure server_failure = HandshakeFailure::kProtocol;
  HandshakeFailure client_failure = HandshakeFailure::kProtocol;
  bool server_ok = false;
  bool client_ok = false;
  REQUIRE(pair.server.start_tls(server_ctx.get(), TlsRole::kServer, first));
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> { server_ok = co_await pair.server.handshake(server_failure); },
      asio::detached);
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> { client_ok = co_await pair.client.handshake(client_failure); },
      asio::detached);
  io.run_for(5s);
  CHECK(server_ok);
  CHECK(client_ok);
}

namespace {

// What is in `socket`'s receive queue, not read yet (0: nothing).
std::size_t queued_bytes(Socket& socket) {
  char peek[64];
  const ssize_t n = ::recv(socket.native_handle(), peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

// Reads from `stream` until `wanted` bytes or an error; the error in `ec`.
std::string read_all(asio::io_context& io, Stream& stream, std::size_t wanted, error_code& ec) {
  std::string got;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        char buffer[1500];  // smaller than a record, and than the BIO's buffer
        while (got.size() < wanted) {
          const std::size_t n = co_await stream.async_read_some(asio::buffer(buffer), redirect(ec));
          if (ec) co_return;
          got.append(buffer, n);
        }
      },
      asio::detached);
  io.run_for(5s);
  io.restart();
  return got;
}

void write_all(asio::io_context& io, Stream& stream, const std::string& bytes) {
  error_code ec;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        co_await asio::async_write(stream, asio::buffer(bytes), redirect(ec));
      },
      asio::detached);
  io.run_for(5s);
  io.restart();
  REQUIRE_FALSE(ec);
}

}  // namespace

TEST_CASE("a TLS read past a drained socket waits with the socket's own read", "[tls]") {
  const auto [server_ctx, client_ctx] = mesh_contexts();
  asio::io_context io;
  Pair pair = connect_pair(io);
  REQUIRE(handshake(io, pair, server_ctx.get(), client_ctx.get()).client_ok);
  error_code ec;
  write_all(io, pair.client, "one");
  CHECK(read_all(io, pair.server, 3, ec) == "one");

  // The server's last recv came back short: the socket is drained. The next
  // record arrives; OpenSSL asked alone does not call recv() for it (that
  // would find nothing but at the next readiness, which the reactor tracks):
  // the bytes stay in the socket for the stream's read.
  write_all(io, pair.client, "two");
  for (int i = 0; i < 500 && queued_bytes(pair.server.lowest_layer()) == 0; ++i) {
    io.run_for(10ms);
    io.restart();
  }
  const std::size_t queued = queued_bytes(pair.server.lowest_layer());
  REQUIRE(queued > 0);
  ERR_clear_error();
  char direct[16];
  CHECK(SSL_read(pair.server.ssl(), direct, sizeof direct) <= 0);
  CHECK(SSL_get_error(pair.server.ssl(), -1) == SSL_ERROR_WANT_READ);
  CHECK(queued_bytes(pair.server.lowest_layer()) == queued);
  CHECK_FALSE(pair.server.has_buffered_bytes());
  CHECK(read_all(io, pair.server, 3, ec) == "two");

  // Records longer than the BIO's buffer (part from it, the rest by recv),
  // many of them, both ways; then a FIN without close_notify while the
  // server's read waits: an EOF, after every byte.
  std::string big(100 * 1000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  write_all(io, pair.server, big);
  CHECK(read_all(io, pair.client, big.size(), ec) == big);
  write_all(io, pair.client, big);
  CHECK(read_all(io, pair.server, big.size(), ec) == big);
  CHECK_FALSE(ec);
  pair.client.lowest_layer().shutdown(Socket::shutdown_send);
  CHECK(read_all(io, pair.server, 1, ec).empty());
  CHECK(ec == asio::error::eof);
}

TEST_CASE("after the peer's close_notify, every TLS read is an EOF at once", "[tls]") {
  const auto [server_ctx, client_ctx] = mesh_contexts();
  asio::io_context io;
  Pair pair = connect_pair(io);
  REQUIRE(handshake(io, pair, server_ctx.get(), client_ctx.get()).client_ok);
  error_code ec;
  write_all(io, pair.client, "last");
  CHECK(read_all(io, pair.server, 4, ec) == "last");
  // close_notify alone: the client's socket stays open both ways.
  ERR_clear_error();
  CHECK(SSL_shutdown(pair.client.ssl()) == 0);
  CHECK(read_all(io, pair.server, 1, ec).empty());
  CHECK(ec == asio::error::eof);
  ec = {};
  CHECK(read_all(io, pair.server, 1, ec).empty());
  CHECK(ec == asio::error::eof);
}

TEST_CASE("the SNI of an identity is its DNS name", "[tls]") {
  CHECK(sni_for_identity(kServerId) == "web.shop.serviceaccount.identity.weft.cluster.local");
  CHECK(sni_for_identity("spiffe://td/ns/a/sa/").empty());
  CHECK(sni_for_identity("spiffe://td/ns//sa/b").empty());
  CHECK(sni_for_identity("spiffe://td/ns/a/sa/b/c").empty());
  CHECK(sni_for_identity("https://td/ns/a/sa/b").empty());
}

TEST_CASE("a worker's contexts follow the credentials' generation", "[tls]") {
  const auto ca = test::make_test_ca("anchor");
  CredentialStore store;
  TlsContexts contexts(store);
  CHECK(contexts.get(TlsRole::kClient) == nullptr);
  store.set(test::make_test_credentials(ca, kClientId));
  SSL_CTX* first = contexts.get(TlsRole::kClient);
  REQUIRE(first != nullptr);
  CHECK(contexts.get(TlsRole::kClient) == first);
  CHECK(contexts.get(TlsRole::kServer) != nullptr);
  store.set(test::make_test_credentials(ca, kClientId));
  CHECK(contexts.get(TlsRole::kClient) != nullptr);
}

TEST_CASE("an idle pooled TLS connection has nothing to read: no session tickets", "[tls]") {
  const auto [server_ctx, client_ctx] = mesh_contexts();
  {
    asio::io_context io;
    Pair pair = connect_pair(io);
    REQUIRE(handshake(io, pair, server_ctx.get(), client_ctx.get()).client_ok);
    io.run_for(100ms);  // anything the server sends after its handshake has arrived
    CHECK(probe_idle(pair.client) == IdleState::kOpen);
  }
  // What the probe would see if the server sent TLS 1.3 tickets after the
  // handshake, as OpenSSL does by default: bytes, taken for a closed connection.
  SSL_CTX_set_num_tickets(server_ctx.get(), 2);
  SSL_CTX_clear_options(server_ctx.get(), SSL_OP_NO_TICKET);
  asio::io_context io;
  Pair pair = connect_pair(io);
  REQUIRE(handshake(io, pair, server_ctx.get(), client_ctx.get()).client_ok);
  io.run_for(100ms);
  CHECK(probe_idle(pair.client) == IdleState::kClosed);
}

// An anchor shared beyond this mesh (an organisation's root, another
// cluster's mesh) vouches for leaves of other trust domains: the server
// refuses them in the handshake, whatever the anchor, and says whom.
TEST_CASE("a client leaf of another trust domain under the anchor is refused", "[tls]") {
  const auto ca = test::make_test_ca("shared-root");
  const std::string foreign = "spiffe://other-cluster.example/ns/shop/sa/admin";
  const auto server_ctx = context(test::make_test_credentials(ca, kServerId), TlsRole::kServer);
  const auto client_ctx = context(test::make_test_credentials(ca, foreign), TlsRole::kClient);
  asio::io_context io;
  Pair pair = connect_pair(io);
  const Outcome outcome = handshake(io, pair, server_ctx.get(), client_ctx.get());
  CHECK_FALSE(outcome.server_ok);
  CHECK(outcome.server_failure == HandshakeFailure::kWrongTrustDomain);
  CHECK(outcome.client_seen_by_server.empty());
  CHECK(refused_client_identity(pair.server.ssl()) == foreign);
  CHECK(to_string(outcome.server_failure) == "wrong_trust_domain");
}

TEST_CASE("a server context knows its trust domain from its own leaf", "[tls]") {
  const auto ca = test::make_test_ca("anchor");
  SECTION("a leaf without a SPIFFE ID cannot serve") {
    const auto made = make_tls_context(test::make_test_credentials(ca, ""), TlsRole::kServer);
    REQUIRE_FALSE(made);
    CHECK_THAT(made.error().message, Catch::Contains("names no SPIFFE ID"));
    CHECK(make_tls_context(test::make_test_credentials(ca, ""), TlsRole::kClient));
  }
  SECTION("a leaf of another trust domain than the credentials' own") {
    auto credentials = test::make_test_credentials(ca, kServerId);
    credentials.self = {.trust_domain = "other.example", .ns = "shop", .service_account = "web"};
    const auto made = make_tls_context(credentials, TlsRole::kServer);
    REQUIRE_FALSE(made);
    CHECK_THAT(made.error().message, Catch::Contains("'cluster.local' is not 'other.example'"));
    credentials.self.trust_domain = "cluster.local";
    CHECK(make_tls_context(credentials, TlsRole::kServer));
  }
}

TEST_CASE("a SPIFFE ID is in a trust domain only in the workload form", "[tls]") {
  CHECK(in_trust_domain(kServerId, "cluster.local"));
  CHECK_FALSE(in_trust_domain(kServerId, "cluster.loca"));
  CHECK_FALSE(in_trust_domain("spiffe://cluster.local.evil/ns/shop/sa/web", "cluster.local"));
  CHECK_FALSE(in_trust_domain("spiffe://cluster.local/web", "cluster.local"));
  CHECK_FALSE(in_trust_domain("spiffe://cluster.local/ns/shop/sa/web/x", "cluster.local"));
}
