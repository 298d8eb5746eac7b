#pragma once

// The SSL_CTX of mTLS between proxies, made from one generation of the
// proxy's credentials: TLS 1.3 only, P-256, ALPN weft.io/mesh, the proxy's
// leaf presented both ways, peers verified against the trust anchors (client
// certificates required). After a handshake the peer's SPIFFE ID is read from
// its certificate: a client proxy accepts only the identity the document
// expects for the endpoint; a server proxy records the client's. A server
// proxy's context also refuses, during the handshake, a client leaf whose
// SPIFFE ID is not spiffe://<its own trust domain>/ns/<ns>/sa/<sa>: anchors
// vouch for whatever they issued, the trust domain says it is this mesh's.
//
// Session tickets are off: a pooled connection's idle probe (MSG_PEEK) must
// find nothing to read, and connections are kept alive and reused, so a full
// handshake is the exception (see docs/identity.md).
//
// A failed handshake has one reason of a bounded set, counted in
// tls_handshake_failures_total{direction, reason}.

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/identity/credentials.h"
#include "weft/result.h"

namespace weft::proxy {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

enum class TlsRole { kServer, kClient };

// The largest Certificate message accepted from a peer (--tls-max-certificate-
// chain-bytes). OpenSSL decodes every certificate's key as it parses the
// message, before any verification, and a key with crafted explicit curve
// parameters costs it 0.1–0.3 s; under its own limit, 100 KB, one handshake
// could hold a worker for over half a minute, under this one for about 3 s (see
// docs/identity.md, "Detection"). A mesh chain (leaf and issuer) is under
// 1.5 KB; one with a brought-your-own RSA-4096 intermediate about 3.2 KB.
inline constexpr std::size_t kDefaultMaxPeerChainBytes = 8 * 1024;

// A server context needs the proxy's own leaf to name its SPIFFE ID (the
// trust domain clients must be in), and that trust domain to be
// credentials.self's when it is set.
Result<SslCtxPtr> make_tls_context(const Credentials& credentials, TlsRole role,
                                   std::size_t max_peer_chain_bytes = kDefaultMaxPeerChainBytes);

enum class HandshakeFailure {
  kNoCredentials,        // the proxy holds no certificate yet
  kUnknownAuthority,     // the peer's chain leads to no trust anchor
  kExpired,              // a certificate of the peer's chain expired (or is not yet valid)
  kBadCertificate,       // another verification failure (bad signature, usage, ...)
  kNoClientCertificate,  // a client presented none
  kWrongIdentity,        // the server is not the identity the endpoint should have
  kNoIdentity,           // the peer's certificate names no SPIFFE ID (of a workload)
  kWrongTrustDomain,     // the client's SPIFFE ID is of another trust domain
  kProtocol,             // no TLS 1.3, no common ALPN, group or cipher, a bad record
  kTimeout,              // not finished within the handshake limit
  kClosed,               // the peer closed the connection during the handshake
  kChainTooLarge,        // the peer's certificate message is over the limit
};
inline constexpr std::size_t kHandshakeFailureCount = 12;
std::string_view to_string(HandshakeFailure failure);

// The reason a handshake on `ssl` failed, from OpenSSL's error queue and the
// verification result (call right after the failing SSL_do_handshake, with
// its SSL_get_error() value).
HandshakeFailure classify_handshake_failure(SSL* ssl, int ssl_error, unsigned long queued_error);

// The one SPIFFE ID (URI SAN starting with "spiffe://") of a certificate;
// empty when it has none or more than one.
std::string spiffe_id_of(X509* certificate);
// The same of the peer's certificate (after a successful handshake).
std::string peer_spiffe_id(SSL* ssl);

// Whether `spiffe_id` is exactly spiffe://<trust_domain>/ns/<ns>/sa/<sa>.
bool in_trust_domain(std::string_view spiffe_id, std::string_view trust_domain);

// The SPIFFE ID of a client leaf the server refused during the handshake
// (kWrongTrustDomain, or kNoIdentity for one that names no workload), for
// the log; empty otherwise.
std::string refused_client_identity(SSL* ssl);

// After a client handshake: the server must be exactly `expected` (a
// SPIFFE URI). kNoIdentity / kWrongIdentity otherwise, nothing when it is.
std::optional<HandshakeFailure> check_server_identity(SSL* ssl, std::string_view expected);

// The DNS name the SNI of a connection to `spiffe_id` carries: the
// identity's DNS SAN (weft::identity's dns_name()); empty when the ID is not
// one weft::identity::parse_spiffe_id accepts.
std::string sni_for_identity(std::string_view spiffe_id);

// A worker's contexts, made again only when the credentials change (their
// generation): no lock and no allocation per connection otherwise.
class TlsContexts {
 public:
  explicit TlsContexts(const CredentialStore& store,
                       std::size_t max_peer_chain_bytes = kDefaultMaxPeerChainBytes)
      : store_(&store), max_peer_chain_bytes_(max_peer_chain_bytes) {}
  // Null while the store holds no credentials (or they could not be used).
  SSL_CTX* get(TlsRole role);

 private:
  const CredentialStore* store_;
  std::size_t max_peer_chain_bytes_;
  std::uint64_t generation_ = 0;
  std::array<SslCtxPtr, 2> contexts_;
};

}  // namespace weft::proxy
