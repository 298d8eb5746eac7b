#pragma once

// The proxy's TLS credentials: its leaf (with the issuer's chain), its private
// key and the trust anchors, swapped as one whole when any of them changes.
// The identity client (proxy/identity/identity_client.*) writes them; the TLS
// layer (proxy/tls/) reads the current ones for each new connection and keeps
// an SSL_CTX per generation. Key and certificate live only in memory.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "weft/identity/spiffe_id.h"
#include "weft/identity/x509.h"

namespace weft::proxy {

struct Credentials {
  identity::WorkloadIdentity self;
  std::string chain_pem;    // leaf first, then the issuer
  std::string key_pem;      // PKCS#8, never written anywhere
  std::string anchors_pem;  // every trust anchor, PEM bundle
  identity::TimePoint not_after{};
  std::uint64_t generation = 0;  // grows with every set()
};

// Written by one thread, read by all: readers take a shared_ptr copy under a
// short lock and test generation() (an atomic) first to skip it when nothing
// changed.
class CredentialStore {
 public:
  std::shared_ptr<const Credentials> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void set(Credentials credentials) {
    std::lock_guard lock(mutex_);
    credentials.generation = generation_.load(std::memory_order_relaxed) + 1;
    current_ = std::make_shared<const Credentials>(std::move(credentials));
    generation_.store(current_->generation, std::memory_order_release);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Credentials> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace weft::proxy
