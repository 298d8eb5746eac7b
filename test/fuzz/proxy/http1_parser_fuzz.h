#pragma once

// What the HTTP/1 fuzz target makes of one input delivered whole, for the
// replay to check against the fixtures' expectations.

#include <string_view>

// -1: incomplete; 0: a whole message; otherwise the error status (400, 501...).
int http1_fuzz_status(std::string_view input, bool response);
