#pragma once

// The serving certificate's expiry as a metric, for the alert that warns before
// the API server can no longer call the webhook (docs/alerts.md). It is read
// from the file the server serves (--tls-cert-file) at each scrape, so it
// follows every rotation, the webhook's own or one made by another tool
// (cert-manager), and shows what the API server is shown.

#include <filesystem>
#include <string_view>

#include "weft/metrics.h"

namespace weft::webhook {

inline constexpr std::string_view kServingCertificateExpiryMetric =
    "weft_webhook_serving_certificate_expiration_timestamp_seconds";

// notAfter of the first certificate in the PEM text, in Unix seconds; 0 when the
// text holds no readable certificate.
double certificate_expiry_seconds(std::string_view cert_pem);

class ServingCertificateExpiry {
 public:
  // registry outlives this.
  ServingCertificateExpiry(Registry& registry, std::filesystem::path cert_file);

  // Reads the file again and sets the gauge: 0 when it is missing or holds no
  // readable certificate (the server then keeps serving the one it loaded last).
  void refresh();

 private:
  std::filesystem::path cert_file_;
  Gauge& expiry_;
};

}  // namespace weft::webhook
