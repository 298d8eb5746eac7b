#include "proxy/layers/admission.h"

namespace weft::proxy {

std::optional<LocalAnswer> admit(const Request& request) {
  if (request.method == "CONNECT") return LocalAnswer{501, "CONNECT is not supported"};
  return std::nullopt;
}

}  // namespace weft::proxy
