#pragma once

// `weftctl inject` and `weftctl uninject` (docs/weftctl.md): manifests from
// files or stdin, their pod templates opted in to (or injected with) the
// proxy by the webhook's own code, or cleared of it; the stream to stdout, a
// note per object to stderr.

#include <string>
#include <vector>

#include "weftctl/context.h"

namespace weft::ctl {

int inject_command(Context& context, const std::vector<std::string>& args);
int uninject_command(Context& context, const std::vector<std::string>& args);

}  // namespace weft::ctl
