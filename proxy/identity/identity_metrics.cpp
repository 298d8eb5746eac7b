#include "proxy/identity/identity_metrics.h"

#include <vector>

namespace weft::proxy {
namespace {

Family<Counter>& refresh_family(Registry& registry) {
  return registry.counter("identity_cert_refresh_total",
                          "Certificate requests to weft-identity, by result.", {"result"});
}

// From a local issuer answering at once (a few ms: a key, a TokenReview) to
// one behind a slow API server.
const std::vector<double> kIssuanceBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

}  // namespace

IdentityMetrics::IdentityMetrics(Registry& registry)
    : expiration_timestamp(registry
                               .gauge("identity_cert_expiration_timestamp_seconds",
                                      "notAfter of the proxy's certificate, in Unix seconds "
                                      "(0: none held).")
                               .get()),
      refresh_success(refresh_family(registry).with_labels({"success"})),
      refresh_failure(refresh_family(registry).with_labels({"failure"})),
      issuance_duration(registry
                            .histogram("identity_cert_issuance_duration_seconds",
                                       "Time to obtain a certificate (successful requests): "
                                       "key and CSR, request to weft-identity, verification.",
                                       kIssuanceBuckets)
                            .get()) {
  auto& failures = registry.counter("identity_cert_refresh_failure_total",
                                    "Failed certificate requests, by reason.", {"reason"});
  for (std::size_t i = 0; i < kIssuanceFailureCount; ++i) {
    failures_[i] = &failures.with_labels({std::string(to_string(static_cast<IssuanceFailure>(i)))});
  }
}

}  // namespace weft::proxy
