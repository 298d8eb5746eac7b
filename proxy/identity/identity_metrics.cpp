#include "proxy/identity/identity_metrics.h"

namespace weft::proxy {
namespace {

Family<Counter>& refresh_family(Registry& registry) {
  return registry.counter("identity_cert_refresh_total",
                          "Certificate requests to weft-identity, by result.", {"result"});
}

}  // namespace

IdentityMetrics::IdentityMetrics(Registry& registry)
    : expiration_timestamp(registry
                               .gauge("identity_cert_expiration_timestamp_seconds",
                                      "notAfter of the proxy's certificate, in Unix seconds "
                                      "(0: none held).")
                               .get()),
      refresh_success(refresh_family(registry).with_labels({"success"})),
      refresh_failure(refresh_family(registry).with_labels({"failure"})) {
  auto& failures = registry.counter("identity_cert_refresh_failure_total",
                                    "Failed certificate requests, by reason.", {"reason"});
  for (std::size_t i = 0; i < kIssuanceFailureCount; ++i) {
    failures_[i] = &failures.with_labels({std::string(to_string(static_cast<IssuanceFailure>(i)))});
  }
}

}  // namespace weft::proxy
