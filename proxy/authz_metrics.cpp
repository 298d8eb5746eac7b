#include "proxy/authz_metrics.h"

namespace weft::proxy {
namespace {

constexpr std::string_view kOther = "other";

bool by_policy_only(AuthzCount what) {
  return what == AuthzCount::kHttpRateLimited || what == AuthzCount::kTcpRateLimited;
}

Family<Counter>& family_of(ProxyMetrics& metrics, AuthzCount what) {
  switch (what) {
    case AuthzCount::kHttpAllow:
      return metrics.inbound_http_authz_allow_total;
    case AuthzCount::kHttpDeny:
      return metrics.inbound_http_authz_deny_total;
    case AuthzCount::kTcpAllow:
      return metrics.inbound_tcp_authz_allow_total;
    case AuthzCount::kTcpDeny:
      return metrics.inbound_tcp_authz_deny_total;
    case AuthzCount::kTcpTerminate:
      return metrics.inbound_tcp_authz_terminate_total;
    case AuthzCount::kHttpRateLimited:
      return metrics.inbound_http_ratelimit_denied_total;
    case AuthzCount::kTcpRateLimited:
      break;
  }
  return metrics.inbound_tcp_ratelimit_denied_total;
}

}  // namespace

AuthzMetrics::AuthzMetrics(ProxyMetrics& metrics, std::size_t max_series)
    : metrics_(metrics),
      folded_(metrics.authz_metric_series_folded_total.get()),
      max_series_(max_series) {}

Counter& AuthzMetrics::counter(AuthzCount what, std::string_view policy, std::string_view rule) {
  if (by_policy_only(what)) rule = {};
  const KeyView key{what, policy, rule};
  std::lock_guard lock(mutex_);
  const auto found = series_.find(key);
  if (found != series_.end()) return *found->second;
  if (own_series_ >= max_series_) {
    folded_.inc();
    const KeyView other{what, kOther, by_policy_only(what) ? std::string_view() : kOther};
    const auto folded = series_.find(other);
    return folded != series_.end() ? *folded->second : create(other);
  }
  ++own_series_;
  return create(key);
}

Counter& AuthzMetrics::create(const KeyView& key) {
  std::vector<std::string> labels{std::string(key.policy)};
  if (!by_policy_only(key.what)) labels.emplace_back(key.rule);
  Counter& counter = family_of(metrics_, key.what).with_labels(labels);
  series_.emplace(Key{key.what, std::string(key.policy), std::string(key.rule)}, &counter);
  return counter;
}

std::size_t AuthzMetrics::series() {
  std::lock_guard lock(mutex_);
  return own_series_;
}

}  // namespace weft::proxy
