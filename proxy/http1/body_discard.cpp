#include "proxy/http1/body_discard.h"

namespace weft::proxy::http1 {

awaitable<DiscardResult> discard_body(Stream& from, ReadBuffer& in, BodyDecoder& decoder,
                                      std::size_t max_bytes, std::uint64_t& bytes_in,
                                      ReadIdleLimit idle) {
  std::size_t consumed = 0;
  while (true) {
    while (!in.empty() && !decoder.done()) {
      const BodyDecoder::Step step = decoder.decode(in.data());
      if (step.error.status != 0) co_return DiscardResult::kMalformed;
      in.consume(step.consumed);
      consumed += step.consumed;
      if (consumed > max_bytes) co_return DiscardResult::kTooLarge;
      if (step.consumed == 0) break;
    }
    if (decoder.done()) co_return DiscardResult::kDone;
    // Nothing more can come of a body that ends with the connection.
    if (decoder.until_close()) co_return DiscardResult::kTooLarge;
    error_code ec;
    if (idle.deadline != nullptr) idle.deadline->arm(from, idle.limit);
    const std::size_t n = co_await from.async_read_some(in.prepare(), redirect(ec));
    if (idle.deadline != nullptr) idle.deadline->disarm();
    if (ec) co_return DiscardResult::kClientFailed;
    in.commit(n);
    bytes_in += n;
  }
}

}  // namespace weft::proxy::http1
