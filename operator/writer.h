#pragma once

// The controller's writes to the API, behind a small interface so that the
// reconcile can be tested with a recording fake (test/unit/operator/
// recording_writer.h). KubeWriter is the real one, over kube::Client. Errors
// keep their kind (Conflict, NotFound...), which the controller reacts to.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "weft/kube/client.h"

namespace weft::op {

using WriteResult = kube::Result<kube::Done>;

class Writer {
 public:
  virtual ~Writer() = default;

  // Server-side apply of an object the operator owns (forced: its fields are ours).
  virtual WriteResult apply(const kube::ResourceType& type, const nlohmann::json& object) = 0;
  // Merge patch of the status subresource.
  virtual WriteResult patch_status(const kube::ResourceType& type, const std::string& ns,
                                   const std::string& name, const nlohmann::json& patch) = 0;
  // Delete, only if the stored object still has this uid ("" for any).
  virtual WriteResult remove(const kube::ResourceType& type, const std::string& ns,
                             const std::string& name, const std::string& precondition_uid) = 0;
  virtual WriteResult create_event(const nlohmann::json& event) = 0;
};

class KubeWriter final : public Writer {
 public:
  KubeWriter(std::shared_ptr<kube::Client> client, std::string field_manager);

  WriteResult apply(const kube::ResourceType& type, const nlohmann::json& object) override;
  WriteResult patch_status(const kube::ResourceType& type, const std::string& ns,
                           const std::string& name, const nlohmann::json& patch) override;
  WriteResult remove(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& precondition_uid) override;
  WriteResult create_event(const nlohmann::json& event) override;

 private:
  const std::shared_ptr<kube::Client> client_;
  const std::string field_manager_;
};

}  // namespace weft::op
