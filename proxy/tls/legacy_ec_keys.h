#pragma once

// OpenSSL 3.0 and 3.1 turn each EC public key of a certificate they parse
// into an EVP_PKEY through their provider decoder, and build that decoder's
// chain afresh for every key; using such a key then exports it into the
// provider again. In a full mTLS handshake that is about 2.6 M instructions
// of 8.5 M per side, for the peer's two certificates (bench/RESULTS.md).
//
// With an ENGINE registered for EC key methods, OpenSSL takes its built-in
// EC code instead: the same ASN.1 parser and the same ECDSA (point checks,
// signatures, P-256's assembly) reached without the decoder or the export.
// The engine only points OpenSSL at its own EC method; no code of ours
// touches a key. It is process-wide: every EC key made or read after it
// (the proxy's own key, its CSR, peers' certificates) uses that path.
// OpenSSL 3.2 caches the decoder chain, so there it is not needed.
//
// On that path a private key read back from PEM (a provider's key) still
// signs TLS handshakes, but not a certificate or a CSR (X509_sign fails), and
// curves are named by NID, not by name (EVP_EC_gen fails): the proxy signs
// only its CSR, with the key it has just made (weft::openssl::new_p256_key).
// Code in the proxy that would sign with a stored key must keep that in mind.

#include <string_view>

namespace weft::proxy {

enum class LegacyEcKeys {
  kOn,           // EC keys go through OpenSSL's built-in EC code
  kOff,          // not asked for (or turned off again)
  kNotNeeded,    // OpenSSL 3.2 or later: its provider path is not slower
  kUnavailable,  // this OpenSSL has no ENGINE support
  kFailed,       // OpenSSL refused the engine, or another engine serves EC keys
};
std::string_view to_string(LegacyEcKeys state);

// Registers the engine (once; again after stop). Call before any thread
// uses OpenSSL: the proxy's main does, when --openssl-legacy-ec-keys is on.
LegacyEcKeys use_legacy_ec_keys();
// Unregisters it: keys made afterwards take the provider path again (tests
// compare both paths in one process).
void stop_legacy_ec_keys();
LegacyEcKeys legacy_ec_keys_state();

}  // namespace weft::proxy
