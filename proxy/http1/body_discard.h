#pragma once

// Reads and drops the body of a request the proxy answered itself (an
// authorization denial, a rate limit, a route's local answer), so that the
// client's connection carries its next request, as nginx discards the body of
// a request it answers with an error. Bounded: a body longer than `max_bytes`
// (its framing included), a malformed one, or one not read whole within
// `budget` (in all, however the client paces it) is not read to its end, and
// the connection must close.

#include <cstddef>
#include <cstdint>

#include "proxy/core/asio.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/tls/stream.h"

namespace weft::proxy::http1 {

enum class DiscardResult { kDone, kTooLarge, kMalformed, kClientFailed };

// `decoder` is reset for the body; its first bytes may already be in `in`.
// What it consumes leaves `in`, so a pipelined next request stays there.
awaitable<DiscardResult> discard_body(Stream& from, ReadBuffer& in, BodyDecoder& decoder,
                                      std::size_t max_bytes, std::uint64_t& bytes_in,
                                      Deadline& deadline, Deadline::Clock::duration budget);

}  // namespace weft::proxy::http1
