#pragma once

// The cache of one resource kind (kube-rs' reflector store): one writer (the
// watcher thread), many readers. Readers take a snapshot, an immutable map they
// can use as long as they like; the writer builds a new map and swaps it in,
// so a full relist replaces everything at once and no reader sees half of it.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace weft::op {

struct ObjectKey {
  std::string ns;  // "" for cluster-scoped objects
  std::string name;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
};

template <typename T>
class Store {
 public:
  using Map = std::map<ObjectKey, std::shared_ptr<const T>>;

  Store() : snapshot_(std::make_shared<const Map>()) {}

  std::shared_ptr<const Map> snapshot() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }
  bool synced() const {
    std::lock_guard lock(mutex_);
    return synced_;
  }

  // Writer side. replace() is the full list of a (re)list and marks the store synced.
  void replace(Map all) {
    auto next = std::make_shared<const Map>(std::move(all));
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
    synced_ = true;
  }
  void upsert(const ObjectKey& key, std::shared_ptr<const T> value) {
    auto next = std::make_shared<Map>(*snapshot());
    (*next)[key] = std::move(value);
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
  }
  void erase(const ObjectKey& key) {
    auto current = snapshot();
    if (!current->contains(key)) return;
    auto next = std::make_shared<Map>(*current);
    next->erase(key);
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Map> snapshot_;
  bool synced_ = false;
};

// The objects of one namespace in a snapshot, in name order.
template <typename T>
std::vector<std::shared_ptr<const T>> in_namespace(const typename Store<T>::Map& map,
                                                   const std::string& ns) {
  std::vector<std::shared_ptr<const T>> out;
  for (auto it = map.lower_bound(ObjectKey{ns, ""}); it != map.end() && it->first.ns == ns; ++it) {
    out.push_back(it->second);
  }
  return out;
}

}  // namespace weft::op
