#pragma once

// Streams one HTTP/1 body from a socket to another as it arrives, re-framed
// on the way (Content-Length, chunked, or delimited by the close), without
// copying it: slices of the input buffer are gathered into writes. Used in
// both directions: the request body to the upstream, the response body to
// the client.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/tls/stream.h"

namespace weft::proxy::http1 {

// How streaming one body ended.
enum class PumpResult { kDone, kMalformed, kSourceFailed, kSinkFailed };

// Reusable memory of one body pump: the gathered pieces of a write and the
// chunk framing they point to. One per direction, since the request body may
// still be streaming while the response is relayed.
struct PumpScratch {
  static constexpr std::size_t kMaxSlices = 16;  // body slices gathered in one write
  std::array<std::string, kMaxSlices> chunk_size_lines;
  std::vector<asio::const_buffer> pieces;
  std::string last_chunk;
  std::string joined;  // a small batch copied into one buffer
};

// A limit on the source's silence: `deadline` is armed on the source for
// `limit` before each read and disarmed after it; when it fires the pump
// ends with kSourceFailed and deadline->expired() says why.
struct ReadIdleLimit {
  Deadline* deadline = nullptr;
  Deadline::Clock::duration limit{};
};

// Streams a body from `from` (its first bytes already in `in`) to `to`,
// re-framed as out_kind; `prefix` (a head) is sent with the first bytes.
// With `stop`, checked before each operation, the pump ends when it is set.
awaitable<PumpResult> pump_body(Stream& from, ReadBuffer& in, BodyDecoder& decoder, Stream& to,
                                BodyKind out_kind, std::string_view prefix, std::uint64_t& bytes_in,
                                std::uint64_t& bytes_out, PumpScratch& scratch,
                                const bool* stop = nullptr, ReadIdleLimit idle = {});

}  // namespace weft::proxy::http1
