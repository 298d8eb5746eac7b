#pragma once

// weft-identity's conversations with the API server: the TokenReview, and the
// three objects of its namespace (read; created only if absent; updated only
// when Weft made them, guarded by the version read).

#include <memory>
#include <optional>
#include <string>

#include "identity/issuance.h"
#include "identity/objects.h"
#include "weft/kube/client.h"

namespace weft::identity {

class KubeTokenReviewer final : public TokenReviewer {
 public:
  explicit KubeTokenReviewer(std::shared_ptr<kube::Client> client) : client_(std::move(client)) {}
  Result<TokenReviewAnswer> review(std::string_view token) override;

 private:
  std::shared_ptr<kube::Client> client_;
};

struct StoredTrust {
  std::optional<StoredObject> anchor;
  std::optional<StoredObject> issuer;
  std::optional<StoredObject> bundle;
};

class TrustStore {
 public:
  TrustStore(std::shared_ptr<kube::Client> client, std::string ns)
      : client_(std::move(client)), ns_(std::move(ns)) {}

  Result<StoredTrust> read();
  // Create-if-absent: false when someone else made it first (re-read it).
  Result<bool> create_secret(std::string_view name, const std::map<std::string, std::string>& data);
  Result<bool> create_bundle(const std::string& pem);
  // Replaces a Weft-made object's data if it still has `resource_version`;
  // false when it changed meanwhile (re-read it).
  Result<bool> update_secret(std::string_view name, const std::string& resource_version,
                             const std::map<std::string, std::string>& data);
  Result<bool> update_bundle(const std::string& resource_version, const std::string& pem);

 private:
  std::shared_ptr<kube::Client> client_;
  const std::string ns_;
};

}  // namespace weft::identity
