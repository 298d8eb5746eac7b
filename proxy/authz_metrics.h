#pragma once

// The authorization and rate-limit counters of proxy/metrics.h, labelled by
// MeshPolicy and rule, with their series bounded: the names come from the
// configuration document, so they are few, but nothing stops a document from
// naming thousands. Past --max-authz-metric-series series, counts go under
// policy="other" (rule="other") and are counted as folded. A lookup of an
// existing series takes a lock but never allocates (the allow path's rule).

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "proxy/metrics.h"

namespace weft::proxy {

enum class AuthzCount {
  kHttpAllow,
  kHttpDeny,
  kTcpAllow,
  kTcpDeny,
  kTcpTerminate,
  kHttpRateLimited,  // labelled by policy only
  kTcpRateLimited,   // labelled by policy only
};

class AuthzMetrics {
 public:
  AuthzMetrics(ProxyMetrics& metrics, std::size_t max_series);

  // The counter of (what, policy, rule); `rule` is ignored for rate limits.
  Counter& counter(AuthzCount what, std::string_view policy, std::string_view rule = {});
  std::size_t series();

 private:
  struct Key {
    AuthzCount what;
    std::string policy;
    std::string rule;
  };
  struct KeyView {
    AuthzCount what;
    std::string_view policy;
    std::string_view rule;
  };
  struct Less {
    using is_transparent = void;
    static KeyView view(const Key& key) { return {key.what, key.policy, key.rule}; }
    static KeyView view(const KeyView& key) { return key; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      const KeyView x = view(a);
      const KeyView y = view(b);
      if (x.what != y.what) return x.what < y.what;
      if (x.policy != y.policy) return x.policy < y.policy;
      return x.rule < y.rule;
    }
  };
  Counter& create(const KeyView& key);

  ProxyMetrics& metrics_;
  Counter& folded_;
  const std::size_t max_series_;
  std::mutex mutex_;
  std::map<Key, Counter*, Less> series_;
  std::size_t own_series_ = 0;  // not "other"
};

}  // namespace weft::proxy
