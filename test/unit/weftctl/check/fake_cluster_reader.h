#pragma once

// A ClusterReader answering from a table of paths, recording what was asked.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "weftctl/check/gather.h"

namespace weft::ctl::check::testing {

class FakeClusterReader : public ClusterReader {
 public:
  std::map<std::string, Answer> answers;  // by path with its query
  std::vector<std::string> asked;
  std::vector<nlohmann::json> posted;
  Answer post_answer = answer_json(201, {{"status", {{"allowed", true}}}});

  Answer get(const std::string& path) override {
    const std::lock_guard lock(mutex_.mutex);  // probe_pod comes from several threads
    asked.push_back(path);
    const auto found = answers.find(path);
    if (found != answers.end()) return found->second;
    return answer_json(404, {{"kind", "Status"}, {"message", path + " not found"}});
  }
  Answer post(const std::string& path, const nlohmann::json& body) override {
    asked.push_back("POST " + path);
    posted.push_back(body);
    return post_answer;
  }

 private:
  // A fresh mutex for a copy: the readers are copied as tables of answers.
  struct CopyableMutex {
    std::mutex mutex;
    CopyableMutex() = default;
    CopyableMutex(const CopyableMutex&) {}
    CopyableMutex& operator=(const CopyableMutex&) { return *this; }
  };
  CopyableMutex mutex_;
};

}  // namespace weft::ctl::check::testing
