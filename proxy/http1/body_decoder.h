#pragma once

// Decodes the body of an HTTP/1.x message as it streams in: Content-Length,
// chunked (with extensions skipped and trailers kept) or read-until-close.
// Each decode() call returns at most one slice of body data, a view into the
// input, so the proxy forwards bytes without copying them. Chunk framing is
// strict: a size that is not hex or overflows, a missing CRLF after the data,
// a bare LF or an oversized size line is an error (the connection is closed).

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/message.h"
#include "proxy/http1/parse_result.h"

namespace weft::proxy::http1 {

// Framing, routing, connection and authentication fields: never relayed as
// trailers (case-insensitive name).
bool forbidden_in_trailers(std::string_view name);

class BodyDecoder {
 public:
  explicit BodyDecoder(Limits limits = {}) : limits_(limits) {}

  // Starts a body; content_length is used only for kContentLength.
  void reset(BodyKind kind, std::uint64_t content_length = 0);

  struct Step {
    std::size_t consumed = 0;  // input bytes used, framing included
    std::string_view data;     // body bytes found (inside the consumed part)
    bool done = false;         // the body is complete after this step
    ParseError error;          // status != 0: malformed; stop and close
  };
  // Call repeatedly while input remains and neither done nor error.
  Step decode(std::string_view input);

  bool done() const { return state_ == State::kDone; }
  // The body ends when the connection does (a response without framing).
  bool until_close() const { return state_ == State::kUntilClose; }
  // Trailer lines of a chunked body, each ending in CRLF, valid once done.
  // Fields that may not be trailers (forbidden_in_trailers) are left out.
  const std::string& trailers() const { return trailers_; }
  std::size_t dropped_trailers() const { return dropped_trailers_; }

 private:
  enum class State {
    kDone,
    kLength,      // Content-Length bytes remain
    kUntilClose,  // everything until the connection closes
    kChunkSize,   // hex digits of a chunk size
    kChunkSizeWhitespace,
    kChunkExtension,
    kChunkSizeLf,
    kChunkData,
    kChunkDataCr,
    kChunkDataLf,
    kTrailerLineStart,
    kTrailerLine,
    kTrailerLineLf,
    kFinalLf,
  };

  Step fail(std::size_t consumed, std::string_view reason) {
    state_ = State::kDone;
    return {consumed, {}, false, {400, reason}};
  }
  bool trailer_line_valid() const;

  Limits limits_;
  State state_ = State::kDone;
  std::uint64_t remaining_ = 0;  // of the Content-Length or the current chunk
  std::size_t chunk_line_bytes_ = 0;
  int size_digits_ = 0;
  std::size_t trailer_line_start_ = 0;
  bool drop_trailer_line_ = false;  // the current trailer line is left out
  std::size_t dropped_trailers_ = 0;
  std::string trailers_;
};

}  // namespace weft::proxy::http1
