#include "proxy/http1/body_discard.h"

namespace weft::proxy::http1 {

awaitable<DiscardResult> discard_body(Stream& from, ReadBuffer& in, BodyDecoder& decoder,
                                      std::size_t max_bytes, std::uint64_t& bytes_in,
                                      Deadline& deadline, Deadline::Clock::duration budget) {
  std::size_t consumed = 0;
  bool armed = false;  // once, for the whole body: a client pacing it gains nothing
  DiscardResult result = DiscardResult::kDone;
  while (true) {
    while (!in.empty() && !decoder.done()) {
      const BodyDecoder::Step step = decoder.decode(in.data());
      if (step.error.status != 0) {
        result = DiscardResult::kMalformed;
        break;
      }
      in.consume(step.consumed);
      consumed += step.consumed;
      if (step.consumed == 0) break;
    }
    if (result != DiscardResult::kDone || decoder.done()) break;
    // Nothing more can come of a body that ends with the connection.
    if (consumed > max_bytes || decoder.until_close()) {
      result = DiscardResult::kTooLarge;
      break;
    }
    if (!armed) {
      deadline.arm(from, budget);
      armed = true;
    }
    error_code ec;
    const std::size_t n = co_await from.async_read_some(in.prepare(), redirect(ec));
    if (ec) {
      result = DiscardResult::kClientFailed;
      break;
    }
    in.commit(n);
    bytes_in += n;
  }
  if (result == DiscardResult::kDone && consumed > max_bytes) result = DiscardResult::kTooLarge;
  if (armed) deadline.disarm();
  co_return result;
}

}  // namespace weft::proxy::http1
