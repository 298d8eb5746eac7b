#include "proxy/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>

#include "weft/identity/spiffe_id.h"
#include "weft/openssl.h"

namespace weft::proxy {
namespace {

// ALPN's wire form: one length-prefixed protocol.
constexpr unsigned char kMeshAlpnWire[] = "\x0cweft.io/mesh";
constexpr std::string_view kMeshAlpnName = "weft.io/mesh";

using openssl::memory_bio;
using openssl::Owned;

Error openssl_error(std::string_view what) {
  std::string message(what);
  if (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  return Error{message};
}

int select_mesh_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                     const unsigned char* in, unsigned int in_length, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kMeshAlpnWire, sizeof kMeshAlpnWire - 1, in,
                            in_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// A server context's trust domain, and a session's refusal of its client,
// live in OpenSSL's ex_data slots, freed with their context or session.
struct ClientRefusal {
  std::string identity;
  HandshakeFailure reason = HandshakeFailure::kWrongTrustDomain;
};

template <typename T>
void delete_ex_data(void*, void* data, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<T*>(data);
}

int trust_domain_slot() {
  static const int slot =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, delete_ex_data<std::string>);
  return slot;
}

int client_refusal_slot() {
  static const int slot =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, delete_ex_data<ClientRefusal>);
  return slot;
}

const ClientRefusal* client_refusal(SSL* ssl) {
  return static_cast<const ClientRefusal*>(SSL_get_ex_data(ssl, client_refusal_slot()));
}

// The server's check of a client leaf, once its chain verified: a SPIFFE ID
// of this mesh's trust domain, or the handshake fails (the leaf without any
// SPIFFE ID is refused after the handshake, as kNoIdentity).
int verify_client_leaf(int verified, X509_STORE_CTX* store) {
  if (verified != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return verified;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  const auto* trust_domain = static_cast<const std::string*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), trust_domain_slot()));
  std::string id = spiffe_id_of(X509_STORE_CTX_get_current_cert(store));
  if (id.empty() || (trust_domain != nullptr && in_trust_domain(id, *trust_domain))) return 1;
  const HandshakeFailure reason = identity::parse_spiffe_id(id)
                                      ? HandshakeFailure::kWrongTrustDomain
                                      : HandshakeFailure::kNoIdentity;
  auto refusal = std::make_unique<ClientRefusal>(ClientRefusal{std::move(id), reason});
  // (The leaf may be checked more than once: the last refusal replaces any.)
  auto* previous = static_cast<ClientRefusal*>(SSL_get_ex_data(ssl, client_refusal_slot()));
  if (SSL_set_ex_data(ssl, client_refusal_slot(), refusal.get()) == 1) {
    refusal.release();
    delete previous;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

}  // namespace

std::string_view to_string(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kNoCredentials:
      return "no_credentials";
    case HandshakeFailure::kUnknownAuthority:
      return "unknown_authority";
    case HandshakeFailure::kExpired:
      return "expired";
    case HandshakeFailure::kBadCertificate:
      return "bad_certificate";
    case HandshakeFailure::kNoClientCertificate:
      return "no_client_certificate";
    case HandshakeFailure::kWrongIdentity:
      return "wrong_identity";
    case HandshakeFailure::kNoIdentity:
      return "no_identity";
    case HandshakeFailure::kWrongTrustDomain:
      return "wrong_trust_domain";
    case HandshakeFailure::kProtocol:
      return "protocol";
    case HandshakeFailure::kTimeout:
      return "timeout";
    case HandshakeFailure::kClosed:
      return "closed";
    case HandshakeFailure::kChainTooLarge:
      return "chain_too_large";
  }
  return "protocol";
}

Result<SslCtxPtr> make_tls_context(const Credentials& credentials, TlsRole role,
                                   std::size_t max_peer_chain_bytes) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return openssl_error("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1) {
    return openssl_error("TLS 1.3 only");
  }
  // X25519 first: a proxy's ClientHello carries its key share, so there is
  // no HelloRetryRequest. Against P-256 in OpenSSL 3.0 it saves about 0.6 M
  // instructions per handshake and side, most of it the check of the peer's
  // P-256 point (bench/RESULTS.md). P-256 stays accepted.
  // An OpenSSL without X25519 (a FIPS-only provider) gets P-256 alone
  // rather than no context at all.
  if (SSL_CTX_set1_groups_list(c, "X25519:P-256") != 1 &&
      SSL_CTX_set1_groups_list(c, "P-256") != 1) {
    return openssl_error("groups");
  }
  ERR_clear_error();  // (the refused X25519, if it was)
  // A peer that closes without close_notify ends its stream like a TCP FIN:
  // HTTP/1 framing finds a truncated message, a tunnel passes the EOF on.
  SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
  // NO_AUTO_CHAIN: the chain sent is the one issued (leaf, intermediates).
  // Without it, a leaf issued straight by an anchor makes OpenSSL build a
  // chain from the trust store at every handshake (a verification of our own
  // certificate) and send the anchor too, which the peer then parses (about
  // a quarter of a handshake's CPU on each side, bench/RESULTS.md).
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_NO_AUTO_CHAIN);
  // One recv() per record rather than two (its 5-byte header, then its body).
  // Bytes read ahead wait in OpenSSL: Stream always tries SSL_read before
  // waiting on the socket, and the idle probe checks SSL_has_pending.
  SSL_CTX_set_read_ahead(c, 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // Checked on the message's header, before a byte of it is parsed.
  SSL_CTX_set_max_cert_list(c, static_cast<long>(max_peer_chain_bytes));
#ifdef SSL_OP_NO_RX_CERTIFICATE_COMPRESSION
  // (OpenSSL 3.2+) A compressed chain is checked against that limit
  // compressed, and inflated without it.
  SSL_CTX_set_options(c, SSL_OP_NO_RX_CERTIFICATE_COMPRESSION);
#endif
  if (role == TlsRole::kServer && SSL_CTX_set_num_tickets(c, 0) != 1) {
    return openssl_error("session tickets");
  }

  // The leaf, then the rest of the chain.
  const auto chain = memory_bio(credentials.chain_pem);
  Owned<X509> leaf(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
  if (!leaf) return openssl_error("the certificate chain holds no certificate");
  if (SSL_CTX_use_certificate(c, leaf.get()) != 1) return openssl_error("the leaf certificate");
  std::string trust_domain;
  if (role == TlsRole::kServer) {
    const auto self = identity::parse_spiffe_id(spiffe_id_of(leaf.get()));
    if (!self) {
      return Error{
          "the certificate names no SPIFFE ID spiffe://<trust domain>/ns/<ns>/sa/<sa>: "
          "the trust domain of clients cannot be checked"};
    }
    if (!credentials.self.trust_domain.empty() &&
        self->trust_domain != credentials.self.trust_domain) {
      return Error{"the certificate's trust domain '" + self->trust_domain + "' is not '" +
                   credentials.self.trust_domain + "'"};
    }
    trust_domain = self->trust_domain;
  }
  while (X509* next = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(c, next) != 1) {
      X509_free(next);
      return openssl_error("the chain's certificate");
    }
  }
  ERR_clear_error();  // the end of the PEM bundle
  const auto key = openssl::read_private_key(credentials.key_pem);
  if (!key) return openssl_error("the private key");
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    return openssl_error("the private key does not match the certificate");
  }

  // Trust: the anchors only (not the system's roots).
  X509_STORE* store = SSL_CTX_get_cert_store(c);
  const auto anchors = memory_bio(credentials.anchors_pem);
  int anchor_count = 0;
  while (X509* anchor = PEM_read_bio_X509(anchors.get(), nullptr, nullptr, nullptr)) {
    const int added = X509_STORE_add_cert(store, anchor);
    X509_free(anchor);
    if (added != 1) return openssl_error("a trust anchor");
    ++anchor_count;
  }
  ERR_clear_error();
  if (anchor_count == 0) return Error{"no trust anchor in the bundle"};

  if (role == TlsRole::kServer) {
    auto owned = std::make_unique<std::string>(std::move(trust_domain));
    if (SSL_CTX_set_ex_data(c, trust_domain_slot(), owned.get()) != 1) {
      return openssl_error("the trust domain");
    }
    owned.release();
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_client_leaf);
    SSL_CTX_set_alpn_select_cb(c, select_mesh_alpn, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_alpn_protos(c, kMeshAlpnWire, sizeof kMeshAlpnWire - 1) != 0) {
      return openssl_error("ALPN");
    }
  }
  return ctx;
}

HandshakeFailure classify_handshake_failure(SSL* ssl, int ssl_error, unsigned long queued_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return HandshakeFailure::kClosed;
  if (ssl_error == SSL_ERROR_SYSCALL && queued_error == 0) return HandshakeFailure::kClosed;
  const long verify = SSL_get_verify_result(ssl);
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return HandshakeFailure::kExpired;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return HandshakeFailure::kUnknownAuthority;
    case X509_V_ERR_APPLICATION_VERIFICATION:
      if (const ClientRefusal* refusal = client_refusal(ssl)) return refusal->reason;
      return HandshakeFailure::kBadCertificate;
    default:
      return HandshakeFailure::kBadCertificate;
  }
  if (ERR_GET_LIB(queued_error) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(queued_error)) {
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return HandshakeFailure::kNoClientCertificate;
      // The peer refused our certificate: its reason, as its alert says.
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return HandshakeFailure::kExpired;
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return HandshakeFailure::kUnknownAuthority;
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
        return HandshakeFailure::kBadCertificate;
      // Any handshake message over its limit: the chain's only while one
      // was being read (the state stays at the message that failed).
      case SSL_R_EXCESSIVE_MESSAGE_SIZE: {
        const OSSL_HANDSHAKE_STATE state = SSL_get_state(ssl);
        return state == TLS_ST_SR_CERT || state == TLS_ST_CR_CERT || state == TLS_ST_CR_CERT_REQ
                   ? HandshakeFailure::kChainTooLarge
                   : HandshakeFailure::kProtocol;
      }
      default:
        break;
    }
  }
  return HandshakeFailure::kProtocol;
}

std::string peer_spiffe_id(SSL* ssl) {
  return spiffe_id_of(SSL_get0_peer_certificate(ssl));
}

bool in_trust_domain(std::string_view spiffe_id, std::string_view trust_domain) {
  const auto parsed = identity::parse_spiffe_id(spiffe_id);
  return parsed && parsed->trust_domain == trust_domain;
}

std::string refused_client_identity(SSL* ssl) {
  const ClientRefusal* refusal = client_refusal(ssl);
  return refusal == nullptr ? std::string() : refusal->identity;
}

std::string spiffe_id_of(X509* cert) {
  if (cert == nullptr) return {};
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return {};
  std::string found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    const std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                static_cast<std::size_t>(ASN1_STRING_length(uri)));
    if (text.starts_with("spiffe://")) {
      found = text;
      ++count;
    }
  }
  GENERAL_NAMES_free(names);
  return count == 1 ? found : std::string();
}

std::optional<HandshakeFailure> check_server_identity(SSL* ssl, std::string_view expected) {
  const std::string actual = peer_spiffe_id(ssl);
  if (actual.empty()) return HandshakeFailure::kNoIdentity;
  if (actual != expected) return HandshakeFailure::kWrongIdentity;
  return std::nullopt;
}

std::string sni_for_identity(std::string_view id) {
  const auto parsed = identity::parse_spiffe_id(id);
  return parsed ? parsed->dns_name() : std::string();
}

SSL_CTX* TlsContexts::get(TlsRole role) {
  const std::uint64_t generation = store_->generation();
  if (generation != generation_) {
    generation_ = generation;
    contexts_ = {};
    if (const auto credentials = store_->current()) {
      for (const TlsRole made : {TlsRole::kServer, TlsRole::kClient}) {
        auto ctx = make_tls_context(*credentials, made, max_peer_chain_bytes_);
        if (ctx) contexts_[static_cast<std::size_t>(made)] = std::move(*ctx);
      }
    }
  }
  return contexts_[static_cast<std::size_t>(role)].get();
}

}  // namespace weft::proxy
