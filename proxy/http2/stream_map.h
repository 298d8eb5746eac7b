#pragma once

// A connection's open streams by id, their nodes from the worker's recycled
// blocks (RecyclingAllocator): a node per stream and side is made and freed
// per request. The stream objects are made with make_recycled.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "proxy/core/recycling_allocator.h"

namespace weft::proxy::http2 {

template <class Stream>
using StreamMap =
    std::map<std::int32_t, std::shared_ptr<Stream>, std::less<>,
             RecyclingAllocator<std::pair<const std::int32_t, std::shared_ptr<Stream>>>>;

}  // namespace weft::proxy::http2
