#pragma once

// What the controller wrote last, so that an unchanged input writes nothing.
// Right after a write the cache may still hold the object as it was, and
// comparing with it would write again: a write is remembered with the
// resourceVersion the cache showed when it was made, and counts as current
// until the cache shows a newer version. Entries go with their objects: per
// namespace (forget_namespace) and per MeshRoute/MeshPolicy (retain_statuses),
// so the memory is bounded by what exists. Thread-safe.

#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace weft::op {

class WriteMemory {
 public:
  // Objects of a namespace: the ConfigMap, Role and RoleBinding by kind, the
  // statuses by uid (status_object()).
  static std::string status_object(const std::string& uid) { return "status/" + uid; }

  // True when `fingerprint` was written while the cache showed
  // `cached_version`, and the cache still shows that version (our write is
  // not in it yet). Never true while nothing is cached (cached_version ""):
  // an object deleted by someone after our write must be written again.
  bool written(const std::string& ns, const std::string& object, const std::string& cached_version,
               const std::string& fingerprint) const;
  void remember(const std::string& ns, const std::string& object, const std::string& cached_version,
                const std::string& fingerprint);
  void forget(const std::string& ns, const std::string& object);

  // Keeps, of the namespace's statuses, only those of these uids (the
  // MeshRoutes and MeshPolicies that still exist).
  void retain_statuses(const std::string& ns, const std::set<std::string>& uids);
  // Everything about the namespace (deleted, or no longer meshed).
  void forget_namespace(const std::string& ns);

  // The namespace's document is over the size limit; true the first time
  // (raise the Event once, not at every reconcile).
  bool mark_too_large(const std::string& ns);
  void clear_too_large(const std::string& ns);

  // The namespace's default-inbound-policy annotation is bad, for this reason;
  // true when the reason is new (raise the Event once per bad value).
  bool mark_bad_default_policy(const std::string& ns, const std::string& problem);
  void clear_bad_default_policy(const std::string& ns);

  // Remembered writes, in all namespaces or in one (tests, and the bound).
  std::size_t size() const;
  std::size_t size(const std::string& ns) const;

 private:
  struct Entry {
    std::string cached_version;  // of the cached object when we wrote
    std::string fingerprint;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, Entry>> by_namespace_;
  std::set<std::string> too_large_;
  std::map<std::string, std::string> bad_default_policy_;
};

}  // namespace weft::op
