#pragma once

// What the two sides of one proxied HTTP/2 request share, on one worker:
// the request body's pipe (client to upstream) and whether the client's
// stream is gone, with the hook that stops the upstream stream then.

#include <functional>
#include <memory>

#include "proxy/http2/body_pipe.h"

namespace weft::proxy::http2 {

struct Exchange {
  // In here, not apart: the try's upstream stream holds it through an
  // aliasing shared_ptr to the exchange (one allocation less per request).
  BodyPipe request_body;
  bool client_gone = false;
  // Set by the upstream side while a try runs.
  std::function<void()> on_client_gone;

  void client_went_away() {
    if (client_gone) return;
    client_gone = true;
    if (on_client_gone) on_client_gone();
  }
};

}  // namespace weft::proxy::http2
