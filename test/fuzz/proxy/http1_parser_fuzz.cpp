// libFuzzer target for the HTTP/1 head parser and body decoder
// (proxy/http1/). Beyond "no crash, no sanitizer report", it checks that the
// parser is split-invariant: the message parsed from the whole input and from
// the same bytes delivered in small pieces must be the same, since a
// difference is exactly what request smuggling exploits. A request head it
// accepts is also carried as HTTP/2 between proxies (proxy/bridge/): the
// block must hold no connection-specific field, no CR, LF or NUL, only
// lower-case token names, one marker, and an origin-form :path (a target
// HTTP/2 cannot carry keeps HTTP/1). Run: run.sh.

#include "test/fuzz/proxy/http1_parser_fuzz.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/bridge/head_translation.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"

namespace {

using namespace weft::proxy::http1;

struct Outcome {
  int status = -1;  // -1 incomplete, 0 complete, else the error status
  std::string method, target, body, trailers;
  std::size_t head_size = 0;
  std::size_t consumed = 0;
  bool keep_alive = false;
  bool operator==(const Outcome&) const = default;
};

// Parses one message from `input` delivered `piece` bytes at a time.
Outcome parse(std::string_view input, std::size_t piece, bool response) {
  HeadParser parser(Limits{.max_head_bytes = 4096, .max_headers = 32});
  BodyDecoder decoder(Limits{.max_chunk_line_bytes = 256, .max_trailer_bytes = 1024});
  RequestHead request;
  ResponseHead response_head;
  Outcome out;
  std::size_t available = 0;
  bool head_done = false;
  std::size_t offset = 0;
  while (available < input.size()) {
    available = std::min(input.size(), available + piece);
    const std::string_view seen = input.substr(0, available);
    if (!head_done) {
      const ParseResult result = response ? parser.parse_response(seen, "GET", response_head)
                                          : parser.parse_request(seen, request);
      if (result.consumed > seen.size()) std::abort();
      if (result.status == ParseStatus::kError) {
        if (result.error.status < 400 || result.error.reason.empty()) std::abort();
        out.status = result.error.status;
        return out;
      }
      if (result.status == ParseStatus::kIncomplete) continue;
      head_done = true;
      const MessageHead& head = response ? static_cast<const MessageHead&>(response_head)
                                         : static_cast<const MessageHead&>(request);
      if (head.body == BodyKind::kContentLength && head.content_length == 0) std::abort();
      out.method = response ? std::to_string(response_head.status) : std::string(request.method);
      out.target =
          response ? std::string(response_head.reason) : std::string(request.routed_target());
      out.keep_alive = head.keep_alive;
      out.head_size = result.consumed;
      decoder.reset(head.body, head.content_length);
      offset = result.consumed;
    }
    while (!decoder.done()) {
      const BodyDecoder::Step step = decoder.decode(seen.substr(offset));
      if (step.consumed > seen.size() - offset) std::abort();
      if (!step.data.empty() &&
          (step.data.data() < seen.data() + offset ||
           step.data.data() + step.data.size() > seen.data() + offset + step.consumed)) {
        std::abort();  // data must lie inside what was consumed
      }
      if (step.error.status != 0) {
        out.status = step.error.status;
        return out;
      }
      out.body += step.data;
      offset += step.consumed;
      if (step.consumed == 0) break;
    }
    if (decoder.done() && !decoder.until_close()) {
      out.status = 0;
      out.trailers = decoder.trailers();
      out.consumed = offset;
      return out;
    }
  }
  out.consumed = offset;
  return out;
}

// The HTTP/2 block a parsed request head becomes between two proxies.
void check_carried_as_http2(std::string_view input) {
  HeadParser parser(Limits{.max_head_bytes = 4096, .max_headers = 32});
  RequestHead head;
  if (parser.parse_request(input, head).status != ParseStatus::kComplete) return;
  weft::proxy::http2::HeaderList block;
  if (!weft::proxy::bridge::http1_request_to_http2(head, "10.0.0.1:80", block)) return;
  std::size_t markers = 0;
  bool fields_started = false;
  for (const auto& [name, value] : block) {
    for (const char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') std::abort();
    }
    if (!name.empty() && name[0] == ':') {
      if (fields_started) std::abort();
      continue;
    }
    fields_started = true;
    for (const char c : name) {
      if ((c >= 'A' && c <= 'Z') || c <= ' ' || c == ':' || c == 0x7f) std::abort();
    }
    if (name == "connection" || name == "transfer-encoding" || name == "keep-alive" ||
        name == "upgrade" || name == "proxy-connection" || name == "host" ||
        (name == "te" && value != "trailers")) {
      std::abort();
    }
    if (name == weft::proxy::bridge::kOriginalProtocolField) ++markers;
  }
  if (markers != 1) std::abort();
  const std::string_view path = block.find(":path");
  if (path != "*" && (path.empty() || path[0] != '/')) std::abort();
  // A body's length is stated only when HTTP/1 stated it, and then exactly.
  if ((head.body == BodyKind::kContentLength) != !block.find("content-length").empty()) {
    std::abort();
  }
}

}  // namespace

int http1_fuzz_status(std::string_view input, bool response) {
  return parse(input, input.size() + 1, response).status;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool response = (data[0] & 1) != 0;
  const std::size_t piece = (data[0] >> 1) % 16 + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome whole = parse(input, input.size() + 1, response);
  const Outcome split = parse(input, piece, response);
  if (!(whole == split)) std::abort();  // split-dependent parsing: a smuggling hazard
  if (!response) check_carried_as_http2(input);
  return 0;
}
