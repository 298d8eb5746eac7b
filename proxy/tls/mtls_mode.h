#pragma once

// Which MeshPolicy.spec.mtls mode holds for an inbound port: the first policy
// (in the document's precedence order) that selects the pod, covers the port
// and sets mtls; Permissive when none does. The proxy does not know its pod's
// labels yet, so only policies whose podSelector is empty (every pod of the
// namespace) are taken to select it; one with labels is skipped (and so not
// enforced: docs/identity.md).

#include <cstdint>

#include "weft/proxyconfig/document.h"

namespace weft::proxy {

proxyconfig::MtlsMode inbound_mtls_mode(const proxyconfig::Document& document, std::uint16_t port);

}  // namespace weft::proxy
