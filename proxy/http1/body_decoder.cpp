#include "proxy/http1/body_decoder.h"

#include <algorithm>

#include "proxy/http1/syntax.h"

namespace weft::proxy::http1 {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 15 hex digits keep a chunk size below 2^60; no real chunk comes near that.
constexpr int kMaxChunkSizeDigits = 15;

}  // namespace

bool forbidden_in_trailers(std::string_view name) {
  // RFC 9110 section 6.5.1: fields that frame the message, route it, manage
  // the connection or authenticate it were decided on from the head; in
  // trailers a later hop could act on them differently. Dropped.
  static constexpr std::string_view kForbidden[] = {"content-length",
                                                    "transfer-encoding",
                                                    "trailer",
                                                    "host",
                                                    "connection",
                                                    "keep-alive",
                                                    "proxy-connection",
                                                    "te",
                                                    "upgrade",
                                                    "expect",
                                                    "authorization",
                                                    "proxy-authorization",
                                                    "proxy-authenticate",
                                                    "www-authenticate",
                                                    "cookie",
                                                    "set-cookie",
                                                    "content-type",
                                                    "content-encoding",
                                                    "content-range",
                                                    "range",
                                                    "cache-control",
                                                    "max-forwards"};
  for (const std::string_view forbidden : kForbidden) {
    if (equals_ignore_case(name, forbidden)) return true;
  }
  return false;
}

void BodyDecoder::reset(BodyKind kind, std::uint64_t content_length) {
  trailers_.clear();
  drop_trailer_line_ = false;
  dropped_trailers_ = 0;
  chunk_line_bytes_ = 0;
  size_digits_ = 0;
  remaining_ = 0;
  switch (kind) {
    case BodyKind::kNone:
      state_ = State::kDone;
      break;
    case BodyKind::kContentLength:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kLength;
      break;
    case BodyKind::kChunked:
      state_ = State::kChunkSize;
      break;
    case BodyKind::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

bool BodyDecoder::trailer_line_valid() const {
  const std::string_view line = std::string_view(trailers_).substr(trailer_line_start_);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return false;
  return std::all_of(line.begin() + static_cast<std::ptrdiff_t>(colon) + 1, line.end(),
                     is_field_value_char);
}

BodyDecoder::Step BodyDecoder::decode(std::string_view input) {
  std::size_t i = 0;
  while (i < input.size()) {
    const char c = input[i];
    switch (state_) {
      case State::kDone:
        return {i, {}, true, {}};
      case State::kLength: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDone;
        return {i + take, input.substr(i, take), state_ == State::kDone, {}};
      }
      case State::kUntilClose:
        return {input.size(), input.substr(i), false, {}};
      case State::kChunkSize: {
        const int digit = hex_value(c);
        if (digit >= 0) {
          if (++size_digits_ > kMaxChunkSizeDigits) return fail(i, "chunk size too large");
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(digit);
        } else if (size_digits_ == 0) {
          return fail(i, "invalid chunk size");
        } else if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else if (c == ';') {
          state_ = State::kChunkExtension;
        } else if (is_whitespace(c)) {
          state_ = State::kChunkSizeWhitespace;
        } else {
          return fail(i, "invalid chunk size");
        }
        break;
      }
      case State::kChunkSizeWhitespace:  // BWS before a chunk extension
        if (c == ';') {
          state_ = State::kChunkExtension;
        } else if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else if (!is_whitespace(c)) {
          return fail(i, "invalid chunk size");
        }
        break;
      case State::kChunkExtension:  // ignored, but it may not hide control bytes
        if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else if (!is_field_value_char(c)) {
          return fail(i, "invalid chunk extension");
        }
        break;
      case State::kChunkSizeLf:
        if (c != '\n') return fail(i, "chunk size line not ended by CRLF");
        chunk_line_bytes_ = 0;
        size_digits_ = 0;
        state_ = remaining_ == 0 ? State::kTrailerLineStart : State::kChunkData;
        ++i;
        continue;
      case State::kChunkData: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kChunkDataCr;
        return {i + take, input.substr(i, take), false, {}};
      }
      case State::kChunkDataCr:
        if (c != '\r') return fail(i, "chunk data not followed by CRLF");
        state_ = State::kChunkDataLf;
        break;
      case State::kChunkDataLf:
        if (c != '\n') return fail(i, "chunk data not followed by CRLF");
        state_ = State::kChunkSize;
        ++i;
        continue;
      case State::kTrailerLineStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
          break;
        }
        if (is_whitespace(c)) return fail(i, "obsolete line folding in trailer");
        trailer_line_start_ = trailers_.size();
        state_ = State::kTrailerLine;
        [[fallthrough]];
      case State::kTrailerLine:
        if (c == '\r') {
          if (!trailer_line_valid()) return fail(i, "invalid trailer field");
          const std::string_view line = std::string_view(trailers_).substr(trailer_line_start_);
          drop_trailer_line_ = forbidden_in_trailers(line.substr(0, line.find(':')));
          if (drop_trailer_line_) {
            trailers_.resize(trailer_line_start_);
            ++dropped_trailers_;
          }
          state_ = State::kTrailerLineLf;
        } else if (c == '\n') {
          return fail(i, "bare LF in trailer");
        } else {
          if (trailers_.size() >= limits_.max_trailer_bytes) return fail(i, "trailers too large");
          trailers_ += c;
        }
        break;
      case State::kTrailerLineLf:
        if (c != '\n') return fail(i, "trailer line not ended by CRLF");
        if (!drop_trailer_line_) trailers_ += "\r\n";
        state_ = State::kTrailerLineStart;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail(i, "chunked body not ended by CRLF");
        state_ = State::kDone;
        return {i + 1, {}, true, {}};
    }
    // Only the framing states reach here: bound the size line and extensions.
    if (state_ == State::kChunkSize || state_ == State::kChunkSizeWhitespace ||
        state_ == State::kChunkExtension || state_ == State::kChunkSizeLf) {
      if (++chunk_line_bytes_ > limits_.max_chunk_line_bytes) {
        return fail(i, "chunk size line too long");
      }
    }
    ++i;
  }
  return {i, {}, state_ == State::kDone, {}};
}

}  // namespace weft::proxy::http1
