#pragma once

// Fault injection for the tests of what an allocation failure does to the
// proxy's coroutines (the one exception its traffic can meet): this test
// binary replaces the global operator new, which is malloc until armed.

#include <cstddef>

namespace weft::proxy::testing {

// From now on, the allocation of at least `min_size` bytes that comes after
// `skip` others of that size throws std::bad_alloc, once.
void fail_allocation(std::size_t min_size, int skip = 0);
// True once the armed failure happened (it is then disarmed).
bool allocation_failed();
void disarm_allocation_failure();

}  // namespace weft::proxy::testing
