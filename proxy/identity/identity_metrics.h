#pragma once

// The identity client's metrics, registered on the proxy's registry (apart
// from ProxyMetrics: they exist whether or not identity is on, and change
// only on the client's thread).
//
//   identity_cert_expiration_timestamp_seconds  notAfter of the leaf held (0: none)
//   identity_cert_refresh_total{result}          requests: success | failure
//   identity_cert_refresh_failure_total{reason}  failures by IssuanceFailure
//   identity_cert_issuance_duration_seconds      a successful request, from the
//     key's generation to the answer verified

#include <array>

#include "proxy/identity/issuance.h"
#include "weft/metrics.h"

namespace weft::proxy {

struct IdentityMetrics {
  explicit IdentityMetrics(Registry& registry);

  Gauge& expiration_timestamp;
  Counter& refresh_success;
  Counter& refresh_failure;
  Histogram& issuance_duration;
  Counter& failure(IssuanceFailure reason) { return *failures_[static_cast<std::size_t>(reason)]; }

 private:
  std::array<Counter*, kIssuanceFailureCount> failures_{};
};

}  // namespace weft::proxy
