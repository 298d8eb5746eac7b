#include "webhook/serving_certificate.h"

#include <chrono>

#include "weft/file.h"
#include "weft/http/certificates.h"

namespace weft::webhook {

double certificate_expiry_seconds(std::string_view cert_pem) {
  auto not_after = http::certificate_not_after(cert_pem);
  if (!not_after) return 0;
  return std::chrono::duration<double>(not_after->time_since_epoch()).count();
}

ServingCertificateExpiry::ServingCertificateExpiry(Registry& registry,
                                                   std::filesystem::path cert_file)
    : cert_file_(std::move(cert_file)),
      expiry_(registry
                  .gauge(kServingCertificateExpiryMetric,
                         "When the serving certificate in --tls-cert-file expires (Unix time), "
                         "read at each scrape; 0 when it cannot be read.")
                  .get()) {}

void ServingCertificateExpiry::refresh() {
  auto text = read_file(cert_file_);
  expiry_.set(text ? certificate_expiry_seconds(*text) : 0);
}

}  // namespace weft::webhook
