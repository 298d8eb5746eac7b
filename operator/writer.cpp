#include "operator/writer.h"

namespace weft::op {
namespace {

WriteResult done(const kube::Result<nlohmann::json>& result) {
  if (!result) return result.error();
  return kube::Done{};
}

}  // namespace

KubeWriter::KubeWriter(std::shared_ptr<kube::Client> client, std::string field_manager)
    : client_(std::move(client)), field_manager_(std::move(field_manager)) {}

WriteResult KubeWriter::apply(const kube::ResourceType& type, const nlohmann::json& object) {
  return done(client_->apply(type, object, kube::ApplyOptions{field_manager_, true, false}));
}

WriteResult KubeWriter::patch_status(const kube::ResourceType& type, const std::string& ns,
                                     const std::string& name, const nlohmann::json& patch) {
  return done(client_->patch_status(type, ns, name, kube::PatchType::kMerge, patch,
                                    kube::WriteOptions{field_manager_, false}));
}

WriteResult KubeWriter::remove(const kube::ResourceType& type, const std::string& ns,
                               const std::string& name, const std::string& precondition_uid) {
  kube::DeleteOptions options;
  options.precondition_uid = precondition_uid;
  return done(client_->remove(type, ns, name, options));
}

WriteResult KubeWriter::create_event(const nlohmann::json& event) {
  return done(client_->create(kube::resources::events(), event));
}

}  // namespace weft::op
