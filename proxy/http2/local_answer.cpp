#include "proxy/http2/local_answer.h"

#include "proxy/request/grpc.h"

namespace weft::proxy::http2 {

std::string grpc_message(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '%') {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

LocalResponse local_response(int status, std::string_view reason, bool grpc, bool head_request,
                             std::uint32_t retry_after_seconds) {
  LocalResponse out;
  if (grpc) {
    out.head.add(":status", "200");
    out.head.add("content-type", "application/grpc");
    out.head.add("grpc-status", grpc::status_text(grpc::status_for_local_answer(status)));
    out.head.add("grpc-message", grpc_message(reason));
  } else {
    out.head.add(":status", std::to_string(status));
    out.head.add("content-type", "text/plain; charset=utf-8");
    if (!head_request) {
      out.body = std::string(reason) + "\n";
      out.head.add("content-length", std::to_string(out.body.size()));
    }
  }
  if (retry_after_seconds != 0) out.head.add("retry-after", std::to_string(retry_after_seconds));
  return out;
}

}  // namespace weft::proxy::http2
