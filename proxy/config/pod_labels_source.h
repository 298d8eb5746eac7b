#pragma once

// The pod's labels file (--pod-labels-file, the downward API's) as a source
// of the configuration store: each content read is parsed and, when good,
// handed to the store, which compiles the policies again; a bad one keeps the
// last good labels. Both are counted (pod_labels_reload_total) and logged.

#include <string_view>

#include "proxy/config/config_store.h"
#include "proxy/metrics.h"
#include "weft/log.h"

namespace weft::proxy {

// True when the labels were taken.
bool offer_pod_labels(std::string_view text, ConfigStore& store, ProxyMetrics& metrics,
                      Logger& log);

}  // namespace weft::proxy
