#include "identity/cluster.h"

#include "identity/token_review.h"

namespace weft::identity {
namespace {

using nlohmann::json;

// The object, nullopt when absent, or the error of the read.
kube::Result<std::optional<json>> get(kube::Client& client, const kube::ResourceType& type,
                                      std::string_view ns, std::string_view name) {
  auto object = client.get(type, ns, name);
  if (object) return std::optional<json>(std::move(*object));
  if (object.is_error(kube::ErrorKind::kNotFound)) return std::optional<json>();
  return object.error();
}

const kube::WriteOptions kWrite{.field_manager = "weft-identity"};

}  // namespace

Result<TokenReviewAnswer> KubeTokenReviewer::review(std::string_view token) {
  auto answer =
      client_->request(kube::RawRequest{"POST", std::string(kTokenReviewPath),
                                        token_review_request(token).dump(), "application/json"});
  if (!answer) return Error{answer.error().message};
  return parse_token_review(*answer);
}

Result<StoredTrust> TrustStore::read() {
  StoredTrust stored;
  auto anchor = get(*client_, kube::resources::secrets(), ns_, kAnchorSecret);
  if (!anchor) return Error{anchor.error().message};
  if (*anchor) stored.anchor = read_secret(**anchor);
  auto issuer = get(*client_, kube::resources::secrets(), ns_, kIssuerSecret);
  if (!issuer) return Error{issuer.error().message};
  if (*issuer) stored.issuer = read_secret(**issuer);
  auto bundle = get(*client_, kube::resources::config_maps(), ns_, kBundleConfigMap);
  if (!bundle) return Error{bundle.error().message};
  if (*bundle) stored.bundle = read_config_map(**bundle);
  return stored;
}

Result<bool> TrustStore::create_secret(std::string_view name,
                                       const std::map<std::string, std::string>& data) {
  auto created = client_->create(kube::resources::secrets(), make_secret(ns_, name, data), kWrite);
  if (created) return true;
  if (created.is_error(kube::ErrorKind::kAlreadyExists)) return false;
  return Error{created.error().message};
}

Result<bool> TrustStore::create_bundle(const std::string& pem) {
  auto created = client_->create(
      kube::resources::config_maps(),
      make_config_map(ns_, kBundleConfigMap, {{std::string(kBundleKey), pem}}), kWrite);
  if (created) return true;
  if (created.is_error(kube::ErrorKind::kAlreadyExists)) return false;
  return Error{created.error().message};
}

Result<bool> TrustStore::update_secret(std::string_view name, const std::string& resource_version,
                                       const std::map<std::string, std::string>& data) {
  json object = make_secret(ns_, name, data);
  object["metadata"]["resourceVersion"] = resource_version;
  auto updated = client_->update(kube::resources::secrets(), object, kWrite);
  if (updated) return true;
  if (updated.is_error(kube::ErrorKind::kConflict)) return false;
  return Error{updated.error().message};
}

Result<bool> TrustStore::update_bundle(const std::string& resource_version,
                                       const std::string& pem) {
  json object = make_config_map(ns_, kBundleConfigMap, {{std::string(kBundleKey), pem}});
  object["metadata"]["resourceVersion"] = resource_version;
  auto updated = client_->update(kube::resources::config_maps(), object, kWrite);
  if (updated) return true;
  if (updated.is_error(kube::ErrorKind::kConflict)) return false;
  return Error{updated.error().message};
}

}  // namespace weft::identity
