#include "proxy/http2/body_pipe.h"

#include <algorithm>
#include <cstring>

namespace weft::proxy::http2 {

void BodyPipe::append(std::string_view bytes) {
  if (bytes.empty() || aborted_) return;
  if (cancelled_) {
    if (on_taken) on_taken(bytes.size());
    return;
  }
  // Taken bytes are dropped once they are most of the buffer (amortised).
  if (offset_ > 0 && offset_ >= data_.size() / 2) {
    data_.erase(0, offset_);
    offset_ = 0;
  }
  data_.append(bytes);
  wake();
}

void BodyPipe::end(HeaderList trailers) {
  if (ended_ || aborted_) return;
  ended_ = true;
  trailers_ = std::move(trailers);
  wake();
}

void BodyPipe::abort() {
  if (aborted_) return;
  aborted_ = true;
  data_.clear();
  offset_ = 0;
  wake();
}

void BodyPipe::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  const std::size_t dropped = buffered();
  data_.clear();
  offset_ = 0;
  if (dropped > 0 && on_taken) on_taken(dropped);
  if (on_cancelled) on_cancelled();
}

void BodyPipe::consumed(std::size_t n) {
  offset_ += n;
  if (offset_ == data_.size()) {
    data_.clear();
    offset_ = 0;
  }
  if (on_taken) on_taken(n);
}

std::size_t BodyPipe::take(char* out, std::size_t max) {
  const std::size_t n = std::min(max, buffered());
  if (n == 0) return 0;
  std::memcpy(out, data_.data() + offset_, n);
  consumed(n);
  return n;
}

std::size_t BodyPipe::take_into(std::string& out, std::size_t max) {
  const std::size_t n = std::min(max, buffered());
  if (n == 0) return 0;
  out.append(data_, offset_, n);
  consumed(n);
  return n;
}

std::size_t BodyPipe::drop(std::size_t max) {
  const std::size_t n = std::min(max, buffered());
  if (n > 0) consumed(n);
  return n;
}

std::string BodyPipe::take_all() {
  std::string out = data_.substr(offset_);
  data_.clear();
  offset_ = 0;
  if (!out.empty() && on_taken) on_taken(out.size());
  return out;
}

namespace {

ssize_t read_pipe(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buffer,
                  std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                  void* /*user_data*/) {
  auto& pipe = *static_cast<BodyPipe*>(source->ptr);
  if (pipe.aborted()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM
  const std::size_t n = pipe.take(reinterpret_cast<char*>(buffer), length);
  if (pipe.finished()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!pipe.trailers().empty()) {
      // (Inside nghttp2's C frames: no exception may leave; memory ends the
      // connection.)
      try {
        const auto nv = to_nv(pipe.trailers());
        if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

ssize_t read_held(nghttp2_session* /*session*/, std::int32_t /*stream_id*/, std::uint8_t* buffer,
                  std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                  void* /*user_data*/) {
  auto& held = *static_cast<HeldBody*>(source->ptr);
  const std::size_t left = held.body->size() - held.offset;
  const std::size_t n = std::min(length, left);
  std::memcpy(buffer, held.body->data() + held.offset, n);
  held.offset += n;
  if (held.offset == held.body->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

ssize_t read_teed(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buffer,
                  std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                  void* user_data) {
  auto& teed = *static_cast<TeedBody*>(source->ptr);
  nghttp2_data_source pipe_source{};
  pipe_source.ptr = teed.pipe;
  const ssize_t n = read_pipe(session, stream_id, buffer, length, flags, &pipe_source, user_data);
  if (n > 0 && !teed.overflowed) {
    const auto bytes = static_cast<std::size_t>(n);
    bool keep = teed.copy.size() + bytes <= teed.limit;
    if (keep) {
      try {
        teed.copy.append(reinterpret_cast<const char*>(buffer), bytes);
      } catch (...) {
        keep = false;  // (memory: no copy, so no retry; the body still goes)
      }
    }
    if (!keep) {
      teed.overflowed = true;
      std::string().swap(teed.copy);
    }
  }
  return n;
}

}  // namespace

nghttp2_data_provider teed_provider(TeedBody& teed) {
  nghttp2_data_provider provider{};
  provider.source.ptr = &teed;
  provider.read_callback = read_teed;
  return provider;
}

nghttp2_data_provider pipe_provider(BodyPipe& pipe) {
  nghttp2_data_provider provider{};
  provider.source.ptr = &pipe;
  provider.read_callback = read_pipe;
  return provider;
}

nghttp2_data_provider held_provider(HeldBody& held) {
  nghttp2_data_provider provider{};
  provider.source.ptr = &held;
  provider.read_callback = read_held;
  return provider;
}

}  // namespace weft::proxy::http2
