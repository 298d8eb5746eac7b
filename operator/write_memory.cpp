#include "operator/write_memory.h"

#include <iterator>

namespace weft::op {

bool WriteMemory::written(const std::string& ns, const std::string& object,
                          const std::string& cached_version, const std::string& fingerprint) const {
  if (cached_version.empty()) return false;
  std::lock_guard lock(mutex_);
  const auto objects = by_namespace_.find(ns);
  if (objects == by_namespace_.end()) return false;
  const auto it = objects->second.find(object);
  return it != objects->second.end() && it->second.cached_version == cached_version &&
         it->second.fingerprint == fingerprint;
}

void WriteMemory::remember(const std::string& ns, const std::string& object,
                           const std::string& cached_version, const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  by_namespace_[ns][object] = {cached_version, fingerprint};
}

void WriteMemory::forget(const std::string& ns, const std::string& object) {
  std::lock_guard lock(mutex_);
  const auto objects = by_namespace_.find(ns);
  if (objects == by_namespace_.end()) return;
  objects->second.erase(object);
  if (objects->second.empty()) by_namespace_.erase(objects);
}

void WriteMemory::retain_statuses(const std::string& ns, const std::set<std::string>& uids) {
  std::lock_guard lock(mutex_);
  const auto objects = by_namespace_.find(ns);
  if (objects == by_namespace_.end()) return;
  auto& entries = objects->second;
  const std::string prefix = status_object("");
  for (auto it = entries.lower_bound(prefix);
       it != entries.end() && it->first.starts_with(prefix);) {
    it = uids.contains(it->first.substr(prefix.size())) ? std::next(it) : entries.erase(it);
  }
  if (entries.empty()) by_namespace_.erase(objects);
}

void WriteMemory::forget_namespace(const std::string& ns) {
  std::lock_guard lock(mutex_);
  by_namespace_.erase(ns);
  too_large_.erase(ns);
  bad_default_policy_.erase(ns);
}

bool WriteMemory::mark_too_large(const std::string& ns) {
  std::lock_guard lock(mutex_);
  return too_large_.insert(ns).second;
}

void WriteMemory::clear_too_large(const std::string& ns) {
  std::lock_guard lock(mutex_);
  too_large_.erase(ns);
}

bool WriteMemory::mark_bad_default_policy(const std::string& ns, const std::string& problem) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = bad_default_policy_.try_emplace(ns, problem);
  if (inserted) return true;
  if (it->second == problem) return false;
  it->second = problem;
  return true;
}

void WriteMemory::clear_bad_default_policy(const std::string& ns) {
  std::lock_guard lock(mutex_);
  bad_default_policy_.erase(ns);
}

std::size_t WriteMemory::size() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [ns, objects] : by_namespace_) total += objects.size();
  return total;
}

std::size_t WriteMemory::size(const std::string& ns) const {
  std::lock_guard lock(mutex_);
  const auto objects = by_namespace_.find(ns);
  return objects == by_namespace_.end() ? 0 : objects->second.size();
}

}  // namespace weft::op
