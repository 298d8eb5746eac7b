#pragma once

// Finding a Kubernetes Service without cluster DNS. The kubelet gives every
// container the address of each Service of its namespace that existed when the
// pod started, as {NAME}_SERVICE_HOST (the name upper-cased, '-' as '_'); the
// Kubernetes documentation calls this the environment-variable form of service
// discovery. The sample programs use it when a plain Service name does not
// resolve, so they work in clusters without a DNS add-on (the local one-node
// cluster has none).

#include <optional>
#include <string>
#include <string_view>

#include "weft/flags.h"

namespace weft::samples {

// Reads an environment variable; tests pass their own.
using EnvLookup = flags::Env;
using flags::process_environment;

// "backend-v1" -> "BACKEND_V1_SERVICE_HOST"; nothing for names that are not a
// Service name (a DNS-1035 label: lower-case letters, digits, '-').
std::optional<std::string> service_host_variable(std::string_view host);

// The Service's address from the environment, if host is a Service name and
// its variable is set.
std::optional<std::string> service_host_from_env(std::string_view host, const EnvLookup& env);

}  // namespace weft::samples
