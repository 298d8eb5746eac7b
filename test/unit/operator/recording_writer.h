#pragma once

// A Writer that records every write instead of sending it, and answers with
// success or with what a test scripts (a Conflict, a NotFound...).

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/writer.h"

namespace op_test {

struct WriteCall {
  std::string verb;  // "apply", "patch_status", "remove", "create_event"
  std::string kind;  // of the resource type ("ConfigMap", "Role", "MeshRoute", "Event"...)
  std::string ns;
  std::string name;
  nlohmann::json body;  // the object, patch or event; the precondition uid for remove
};

class RecordingWriter final : public weft::op::Writer {
 public:
  // Decides the answer to a call; unset: success.
  std::function<weft::op::WriteResult(const WriteCall&)> answer;

  std::vector<WriteCall> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // "apply Role", "remove ConfigMap"... in order, for compact checks.
  std::vector<std::string> summary() const {
    std::vector<std::string> out;
    for (const auto& call : calls()) out.push_back(call.verb + " " + call.kind);
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    calls_.clear();
  }

  weft::op::WriteResult apply(const weft::kube::ResourceType& type,
                              const nlohmann::json& object) override {
    return record({"apply", type.kind, object["metadata"].value("namespace", ""),
                   object["metadata"].value("name", ""), object});
  }
  weft::op::WriteResult patch_status(const weft::kube::ResourceType& type, const std::string& ns,
                                     const std::string& name,
                                     const nlohmann::json& patch) override {
    return record({"patch_status", type.kind, ns, name, patch});
  }
  weft::op::WriteResult remove(const weft::kube::ResourceType& type, const std::string& ns,
                               const std::string& name,
                               const std::string& precondition_uid) override {
    return record({"remove", type.kind, ns, name, precondition_uid});
  }
  weft::op::WriteResult create_event(const nlohmann::json& event) override {
    return record({"create_event", "Event", event["metadata"].value("namespace", ""),
                   event["involvedObject"].value("name", ""), event});
  }

 private:
  weft::op::WriteResult record(WriteCall call) {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back(call);
    }
    if (answer) return answer(call);
    return weft::kube::Done{};
  }

  mutable std::mutex mutex_;
  std::vector<WriteCall> calls_;
};

}  // namespace op_test
