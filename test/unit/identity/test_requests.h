#pragma once

// What a proxy sends weft-identity, made for tests: a JWT-shaped token
// (unsigned: the fake reviewers decide) and a real CSR.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "weft/base64.h"
#include "weft/identity/x509.h"

namespace weft::identity::testing {

inline std::string base64url(std::string_view bytes) {
  std::string text = weft::base64_encode(bytes);
  for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

inline std::string jwt(const nlohmann::json& claims) {
  return base64url(R"({"alg":"RS256","kid":"test"})") + "." + base64url(claims.dump()) +
         ".c2lnbmF0dXJl";
}

inline long long unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// A projected token of ns/sa for weft-identity, valid for an hour after `now`.
inline std::string token_for(std::string_view ns, std::string_view sa,
                             std::chrono::system_clock::time_point now) {
  return jwt({{"aud", {"identity.weft.io"}},
              {"exp", unix_seconds(now) + 3600},
              {"iat", unix_seconds(now)},
              {"sub", "system:serviceaccount:" + std::string(ns) + ":" + std::string(sa)}});
}

// A real P-256 CSR (made once: key generation is the slow part).
inline const std::string& real_csr() {
  static const std::string csr = [] {
    auto self = make_identity("cluster.local", "shop", "web");
    auto request = make_certificate_request(*self);
    return request ? request->csr_pem : std::string("CSR generation failed");
  }();
  return csr;
}

}  // namespace weft::identity::testing
