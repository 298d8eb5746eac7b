#include "proxy/http1/head_writer.h"

#include <array>
#include <charconv>

#include "proxy/http1/syntax.h"

namespace weft::proxy::http1 {
namespace {

void append_number(std::string& out, std::uint64_t value, int base = 10) {
  std::array<char, 24> digits{};
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value, base);
  out.append(digits.data(), result.ptr);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

// The tokens the Connection headers list, gathered once per head rather than
// re-read for every header (a quadratic scan, on every request and response).
// A head listing more than fits falls back to MessageHead::connection_lists.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const MessageHead& head) : head_(head) {
    for (const Header& header : head.headers) {
      if (!equals_ignore_case(header.name, "connection")) continue;
      for_each_list_item(header.value, [&](std::string_view item) {
        if (count_ < tokens_.size()) {
          tokens_[count_++] = item;
        } else {
          overflow_ = true;
        }
      });
    }
  }
  bool lists(std::string_view name) const {
    if (overflow_) return head_.connection_lists(name);
    for (std::size_t i = 0; i < count_; ++i) {
      if (equals_ignore_case(tokens_[i], name)) return true;
    }
    return false;
  }

 private:
  const MessageHead& head_;
  std::array<std::string_view, 16> tokens_{};
  std::size_t count_ = 0;
  bool overflow_ = false;
};

// Headers a Connection header cannot turn hop-by-hop: routing and framing
// were decided on them, so the next hop must see the same (`Connection: host`
// would otherwise send the request upstream without its Host).
bool connection_cannot_remove(std::string_view name) {
  return equals_ignore_case(name, "host") || equals_ignore_case(name, "content-length") ||
         equals_ignore_case(name, "transfer-encoding");
}

// The end-to-end headers of a head, without Content-Length (framing is rewritten).
void append_end_to_end_headers(std::string& out, const MessageHead& head) {
  const ConnectionTokens connection(head);
  for (const Header& header : head.headers) {
    if (is_hop_by_hop(header.name) || equals_ignore_case(header.name, "content-length")) continue;
    if (connection.lists(header.name) && !connection_cannot_remove(header.name)) continue;
    append_header(out, header.name, header.value);
  }
}

// `codings`: those applied before chunked, kept (a response's gzip, chunked).
void append_framing(std::string& out, const Framing& framing, std::string_view codings = {}) {
  if (framing.body == BodyKind::kChunked) {
    out += "Transfer-Encoding: ";
    if (!codings.empty()) {
      out += codings;
      out += ", ";
    }
    out += "chunked\r\n";
  } else if (framing.body == BodyKind::kContentLength) {
    out += "Content-Length: ";
    append_number(out, framing.content_length);
    out += "\r\n";
  }
  if (framing.close) out += "Connection: close\r\n";
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  // By length first: most names match none, and so cost one comparison.
  switch (name.size()) {
    case 2:
      return equals_ignore_case(name, "te");
    case 7:
      return equals_ignore_case(name, "trailer") || equals_ignore_case(name, "upgrade");
    case 10:
      return equals_ignore_case(name, "connection") || equals_ignore_case(name, "keep-alive");
    case 16:
      return equals_ignore_case(name, "proxy-connection");
    case 17:
      return equals_ignore_case(name, "transfer-encoding");
    case 18:
      return equals_ignore_case(name, "proxy-authenticate");
    default:
      return false;
  }
}

void write_request_head(std::string& out, const RequestHead& head, const Framing& framing,
                        std::string_view default_host) {
  out += head.method;
  out += ' ';
  out += head.routed_target();  // the upstream sees the path that was routed on
  out += " HTTP/1.1\r\n";
  if (head.host.empty() && !default_host.empty()) append_header(out, "Host", default_host);
  append_end_to_end_headers(out, head);
  if (head.upgrade) {
    append_header(out, "Upgrade", head.upgrade_protocol);
    out += "Connection: upgrade\r\n";
  }
  append_framing(out, framing);
  out += "\r\n";
}

void write_response_head(std::string& out, const ResponseHead& head, const Framing& framing,
                         int client_minor_version) {
  out += client_minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(head.status));
  out += ' ';
  out += head.reason;
  out += "\r\n";
  append_end_to_end_headers(out, head);
  if (head.status == 101) {
    append_header(out, "Upgrade", head.upgrade_protocol);
    out += "Connection: upgrade\r\n";
  }
  // A HEAD response or a 304 keeps the Content-Length of the real entity.
  if (head.body == BodyKind::kNone && head.status != 101) {
    const std::string_view length = head.find("content-length");
    if (!length.empty()) append_header(out, "Content-Length", length);
  }
  append_framing(out, framing, head.transfer_codings);
  if (client_minor_version == 0 && !framing.close) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

void write_local_response(std::string& out, int status, std::string_view reason, bool close,
                          LocalResponseOptions options) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  append_number(out, reason.size() + 1);
  out += "\r\n";
  if (options.retry_after_seconds != 0) {
    out += "Retry-After: ";
    append_number(out, options.retry_after_seconds);
    out += "\r\n";
  }
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (options.head_request) return;
  out += reason;
  out += '\n';
}

void write_chunk_header(std::string& out, std::size_t size) {
  append_number(out, size, 16);
  out += "\r\n";
}

void write_last_chunk(std::string& out, std::string_view trailers) {
  out += "0\r\n";
  out += trailers;
  out += "\r\n";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace weft::proxy::http1
