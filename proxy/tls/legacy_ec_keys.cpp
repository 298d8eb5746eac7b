// ENGINE is deprecated in OpenSSL 3 and is the one switch 3.0 reads before
// its decoder (x509_pubkey_decode asks ENGINE_get_pkey_meth_engine first).
#define OPENSSL_SUPPRESS_DEPRECATED

#include "proxy/tls/legacy_ec_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <iterator>

#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif

namespace weft::proxy {
namespace {

LegacyEcKeys state = LegacyEcKeys::kOff;

#ifndef OPENSSL_NO_ENGINE
ENGINE* engine = nullptr;

const int kEcNids[] = {EVP_PKEY_EC};

// ENGINE_PKEY_METHS_PTR: with no method asked for, the NIDs served; else
// OpenSSL's own EC method for EVP_PKEY_EC (it is never modified).
int ec_pkey_methods(ENGINE*, EVP_PKEY_METHOD** method, const int** nids, int nid) {
  if (method == nullptr) {
    *nids = kEcNids;
    return static_cast<int>(std::size(kEcNids));
  }
  *method =
      nid == EVP_PKEY_EC ? const_cast<EVP_PKEY_METHOD*>(EVP_PKEY_meth_find(EVP_PKEY_EC)) : nullptr;
  return *method != nullptr ? 1 : 0;
}

bool register_engine() {
  if (engine == nullptr) {
    ENGINE* made = ENGINE_new();
    if (made == nullptr) return false;
    if (ENGINE_set_id(made, "weft-builtin-ec") != 1 ||
        ENGINE_set_name(made, "OpenSSL's built-in EC key methods") != 1 ||
        ENGINE_set_pkey_meths(made, ec_pkey_methods) != 1) {
      ENGINE_free(made);
      return false;
    }
    engine = made;
  }
  if (ENGINE_register_pkey_meths(engine) != 1) return false;
  // What x509_pubkey_decode will ask (a functional reference): ours, and not
  // one that OpenSSL's configuration registered first.
  ENGINE* chosen = ENGINE_get_pkey_meth_engine(EVP_PKEY_EC);
  if (chosen != nullptr) ENGINE_finish(chosen);
  if (chosen != engine) {
    ENGINE_unregister_pkey_meths(engine);
    return false;
  }
  return true;
}
#endif

}  // namespace

std::string_view to_string(LegacyEcKeys value) {
  switch (value) {
    case LegacyEcKeys::kOn:
      return "on";
    case LegacyEcKeys::kOff:
      return "off";
    case LegacyEcKeys::kNotNeeded:
      return "not needed (OpenSSL 3.2 or later)";
    case LegacyEcKeys::kUnavailable:
      return "unavailable (OpenSSL without ENGINE support)";
    case LegacyEcKeys::kFailed:
      return "failed (OpenSSL refused the engine, or another one serves EC keys)";
  }
  return "unknown";
}

LegacyEcKeys use_legacy_ec_keys() {
  if (state == LegacyEcKeys::kOn) return state;
  if (OpenSSL_version_num() >= 0x30200000L) {
    state = LegacyEcKeys::kNotNeeded;
    return state;
  }
#ifndef OPENSSL_NO_ENGINE
  // OpenSSL reads its configuration (which may register engines) lazily:
  // read it now, so that the check of the engine chosen sees them.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  state = register_engine() ? LegacyEcKeys::kOn : LegacyEcKeys::kFailed;
#else
  state = LegacyEcKeys::kUnavailable;
#endif
  return state;
}

void stop_legacy_ec_keys() {
#ifndef OPENSSL_NO_ENGINE
  if (engine != nullptr) ENGINE_unregister_pkey_meths(engine);
#endif
  state = LegacyEcKeys::kOff;
}

LegacyEcKeys legacy_ec_keys_state() {
  return state;
}

}  // namespace weft::proxy
