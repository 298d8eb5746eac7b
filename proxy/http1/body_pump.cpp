#include "proxy/http1/body_pump.h"

#include <optional>

#include "proxy/http1/head_writer.h"

namespace weft::proxy::http1 {
namespace {

// A batch up to this size is written as one buffer (see as_one_buffer).
constexpr std::size_t kJoinLimit = 4096;

// The batch as one buffer, when it is one piece or small enough to copy into
// one: a head and a short body, as most responses are. The kernel's send()
// of one buffer costs less than its sendmsg() of an I/O vector, and Asio
// copies a vector of pieces (an allocation) before writing it.
std::optional<asio::const_buffer> as_one_buffer(PumpScratch& scratch) {
  if (scratch.pieces.size() == 1) return scratch.pieces.front();
  std::size_t total = 0;
  for (const asio::const_buffer& piece : scratch.pieces) total += piece.size();
  if (total > kJoinLimit) return std::nullopt;
  scratch.joined.clear();
  for (const asio::const_buffer& piece : scratch.pieces) {
    scratch.joined.append(static_cast<const char*>(piece.data()), piece.size());
  }
  return asio::buffer(scratch.joined);
}

}  // namespace

awaitable<PumpResult> pump_body(Stream& from, ReadBuffer& in, BodyDecoder& decoder, Stream& to,
                                BodyKind out_kind, std::string_view prefix, std::uint64_t& bytes_in,
                                std::uint64_t& bytes_out, PumpScratch& scratch, const bool* stop,
                                ReadIdleLimit idle) {
  // Checked before each operation: a cancel() reaches only the operation
  // pending at that moment, not one whose completion is already queued.
  const auto stopped = [stop] { return stop != nullptr && *stop; };
  constexpr std::size_t kMaxSlices = PumpScratch::kMaxSlices;
  const bool chunked = out_kind == BodyKind::kChunked;
  // Gathered pieces of one write: the prefix, then per data slice (when
  // chunked) its size line, the data and CRLF. Slices point into `in`, so the
  // batch is written before `in` is read into again.
  // (Members, so their memory is reused by every body of the connection.)
  auto& size_lines = scratch.chunk_size_lines;
  auto& pieces = scratch.pieces;
  auto& last_chunk = scratch.last_chunk;
  pieces.clear();
  if (!prefix.empty()) {
    pieces.emplace_back(prefix.data(), prefix.size());
    bytes_out += prefix.size();
  }
  error_code ec;
  while (true) {
    std::size_t slices = 0;
    bool done = decoder.done();
    while (!done && !in.empty() && slices < kMaxSlices) {
      const BodyDecoder::Step step = decoder.decode(in.data());
      if (step.error.status != 0) co_return PumpResult::kMalformed;
      if (!step.data.empty()) {
        if (chunked) {
          std::string& line = size_lines[slices];
          line.clear();
          write_chunk_header(line, step.data.size());
          pieces.emplace_back(line.data(), line.size());
          pieces.emplace_back(step.data.data(), step.data.size());
          pieces.emplace_back(kChunkEnd.data(), kChunkEnd.size());
        } else {
          pieces.emplace_back(step.data.data(), step.data.size());
        }
        bytes_out += step.data.size();
        ++slices;
      }
      in.consume(step.consumed);
      done = step.done;
      if (step.consumed == 0) break;
    }
    bool source_ended = false;
    if (!done && in.empty() && slices < kMaxSlices) {
      // Write what is batched, then read more.
      if (!pieces.empty()) {
        if (stopped()) co_return PumpResult::kSinkFailed;
        if (const auto one = as_one_buffer(scratch)) {
          co_await asio::async_write(to, *one, redirect(ec));
        } else {
          co_await asio::async_write(to, pieces, redirect(ec));
        }
        if (ec) co_return PumpResult::kSinkFailed;
        pieces.clear();
      }
      const auto space = in.prepare();
      if (stopped()) co_return PumpResult::kSourceFailed;
      if (idle.deadline != nullptr) idle.deadline->arm(from, idle.limit);
      const std::size_t n = co_await from.async_read_some(space, redirect(ec));
      if (idle.deadline != nullptr) idle.deadline->disarm();
      if (ec == asio::error::eof && decoder.until_close()) {
        source_ended = true;  // a body delimited by the connection's end
      } else if (ec) {
        co_return PumpResult::kSourceFailed;
      } else {
        in.commit(n);
        bytes_in += n;
        continue;
      }
    }
    if ((done || source_ended) && chunked) {
      last_chunk.clear();
      write_last_chunk(last_chunk, decoder.trailers());
      pieces.emplace_back(last_chunk.data(), last_chunk.size());
    }
    if (!pieces.empty()) {
      if (stopped()) co_return PumpResult::kSinkFailed;
      if (const auto one = as_one_buffer(scratch)) {
        co_await asio::async_write(to, *one, redirect(ec));
      } else {
        co_await asio::async_write(to, pieces, redirect(ec));
      }
      if (ec) co_return PumpResult::kSinkFailed;
      pieces.clear();
    }
    if (done || source_ended) co_return PumpResult::kDone;
  }
}

}  // namespace weft::proxy::http1
