#pragma once

#include <string_view>

namespace weft {

// The release every Weft program belongs to, "v" and CMakeLists.txt's
// project(VERSION): what the proxy's /version reports, what the webhook records on
// the pods it injects, and what the operator and weftctl compare them with. One
// definition (version.cpp), so that a release changes one line and one object.
std::string_view version();

}  // namespace weft
