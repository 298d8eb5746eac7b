#include "proxy/http1/head_parser.h"

#include <cstring>
#include <utility>
#include <vector>

#include "proxy/http1/syntax.h"
#include "proxy/request/path.h"

namespace weft::proxy::http1 {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Splits the next CRLF-terminated line off `rest`. The head was already checked
// to end in an empty line and to hold no bare LF, so a CRLF is always found.
std::string_view next_line(std::string_view& rest) {
  const auto end = rest.find(kCrlf);
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + kCrlf.size());
  return line;
}

// "HTTP/1.0" or "HTTP/1.1" -> minor version; other HTTP versions -> -2 (505),
// anything else -> -1 (malformed).
int parse_version(std::string_view text) {
  if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || text[6] != '.') return -1;
  const char major = text[5];
  const char minor = text[7];
  if (major < '0' || major > '9' || minor < '0' || minor > '9') return -1;
  if (major != '1' || minor > '1') return -2;
  return minor - '0';
}

// Parses the header lines after the start line into head.headers.
ParseResult parse_header_lines(std::string_view rest, const Limits& limits, MessageHead& head,
                               int error_status) {
  head.headers.clear();
  while (true) {
    const std::string_view line = next_line(rest);
    if (line.empty()) return ParseResult::complete(0);
    if (is_whitespace(line.front())) {
      return ParseResult::fail(error_status, "obsolete line folding in header");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return ParseResult::fail(error_status, "header line without a colon");
    }
    const std::string_view name = line.substr(0, colon);
    // Also refuses "Name :", whitespace before the colon (RFC 9112 section 5.1).
    if (!is_token(name)) return ParseResult::fail(error_status, "invalid header name");
    const std::string_view value = trim_whitespace(line.substr(colon + 1));
    for (char c : value) {
      if (!is_field_value_char(c)) {
        return ParseResult::fail(error_status, "invalid character in header value");
      }
    }
    if (head.headers.size() == limits.max_headers) {
      return ParseResult::fail(error_status == 400 ? 431 : error_status, "too many headers");
    }
    head.headers.push_back({name, value});
  }
}

// The framing headers, shared by requests and responses. Sets body,
// content_length; the caller handles the cases where the status or method
// overrides them.
ParseResult parse_framing(MessageHead& head, int error_status) {
  int content_lengths = 0;
  int transfer_encodings = 0;
  std::string_view content_length;
  std::string_view transfer_encoding;
  for (const Header& header : head.headers) {
    if (equals_ignore_case(header.name, "content-length")) {
      ++content_lengths;
      content_length = header.value;
    } else if (equals_ignore_case(header.name, "transfer-encoding")) {
      ++transfer_encodings;
      transfer_encoding = header.value;
    }
  }
  if (transfer_encodings > 0) {
    if (content_lengths > 0) {
      return ParseResult::fail(error_status, "both Content-Length and Transfer-Encoding");
    }
    if (transfer_encodings > 1) {
      return ParseResult::fail(error_status, "repeated Transfer-Encoding");
    }
    int codings = 0;
    int chunked = 0;
    bool tokens = true;
    std::string_view last;
    for_each_list_item(transfer_encoding, [&](std::string_view item) {
      ++codings;
      if (equals_ignore_case(item, "chunked")) ++chunked;
      tokens = tokens && is_token(item);
      last = item;
    });
    if (codings == 0 || !equals_ignore_case(last, "chunked")) {
      return ParseResult::fail(error_status, "Transfer-Encoding does not end in chunked");
    }
    if (chunked > 1 || !tokens) return ParseResult::fail(error_status, "invalid Transfer-Encoding");
    if (codings > 1) {
      // A request's other codings would have to be agreed on with the next
      // hop: refused. A response's are the client's to decode: the body is
      // de-chunked and re-chunked, and the codings before chunked are relayed.
      if (error_status == 400) return ParseResult::fail(501, "unsupported transfer coding");
      std::string_view before = transfer_encoding.substr(0, transfer_encoding.rfind(','));
      while (!before.empty() && (before.back() == ',' || is_whitespace(before.back()))) {
        before.remove_suffix(1);
      }
      head.transfer_codings = trim_whitespace(before);
    }
    head.body = BodyKind::kChunked;
    return ParseResult::complete(0);
  }
  if (content_lengths > 1) return ParseResult::fail(error_status, "repeated Content-Length");
  if (content_lengths == 1) {
    const auto length = parse_content_length(content_length);
    if (!length) return ParseResult::fail(error_status, "invalid Content-Length");
    head.content_length = *length;
    head.body = *length == 0 ? BodyKind::kNone : BodyKind::kContentLength;
    return ParseResult::complete(0);
  }
  head.body = BodyKind::kNone;
  return ParseResult::complete(0);
}

// Persistence (RFC 9112 section 9.3) and Upgrade.
void parse_connection(MessageHead& head) {
  if (head.connection_lists("close")) {
    head.keep_alive = false;
  } else {
    head.keep_alive = head.minor_version >= 1 || head.connection_lists("keep-alive");
  }
}

// Clears a head for reuse; the header vector keeps its memory so that a
// keep-alive connection does not allocate per request.
template <typename Head>
void reset_keeping_capacity(Head& head) {
  std::vector<Header> headers = std::move(head.headers);
  head = Head{};
  head.headers = std::move(headers);
  head.headers.clear();
}

void reset_keeping_capacity(RequestHead& head) {
  std::string normalized = std::move(head.normalized_target);
  reset_keeping_capacity<RequestHead>(head);
  head.normalized_target = std::move(normalized);
  head.normalized_target.clear();
}

// Normalises the path of an origin-form target once, for routing and the
// upstream alike; refusals are the client's fault (400).
ParseResult normalize_target(RequestHead& head) {
  const auto query_start = head.target.find('?');
  const std::string_view path = head.target.substr(0, query_start);
  const PathNormalization result = normalize_path(path, head.normalized_target);
  if (result.verdict == PathNormalization::Verdict::kRefused) {
    head.normalized_target.clear();
    return ParseResult::fail(400, result.reason);
  }
  if (result.verdict == PathNormalization::Verdict::kNormalized &&
      query_start != std::string_view::npos) {
    head.normalized_target += head.target.substr(query_start);
  }
  return ParseResult::complete(0);
}

}  // namespace

ParseResult HeadParser::find_head_end(std::string_view buffer, std::size_t start,
                                      int error_status) {
  std::size_t position = scanned_ > start ? scanned_ : start;
  while (position < buffer.size()) {
    const void* found = std::memchr(buffer.data() + position, '\n', buffer.size() - position);
    if (found == nullptr) break;
    const auto newline = static_cast<std::size_t>(static_cast<const char*>(found) - buffer.data());
    if (newline == 0 || buffer[newline - 1] != '\r') {
      return ParseResult::fail(error_status, "bare LF in message head");
    }
    // An empty line ends the head; its first line is never empty (skipped before).
    if (newline >= start + 3 && buffer[newline - 2] == '\n') {
      const std::size_t end = newline + 1;
      if (end - start > limits_.max_head_bytes) break;
      scanned_ = end;
      return ParseResult::complete(end);
    }
    position = newline + 1;
  }
  scanned_ = buffer.size();
  if (buffer.size() - start > limits_.max_head_bytes) {
    return ParseResult::fail(error_status == 400 ? 431 : error_status, "message head too large");
  }
  return ParseResult::incomplete();
}

ParseResult HeadParser::parse_request(std::string_view buffer, RequestHead& out) {
  // Skip empty lines before the request line (bounded by the head size limit).
  std::size_t start = 0;
  while (start + 1 < buffer.size() && buffer[start] == '\r' && buffer[start + 1] == '\n') {
    start += 2;
  }
  if (start > limits_.max_head_bytes) return ParseResult::fail(431, "message head too large");
  const ParseResult end = find_head_end(buffer, start, 400);
  if (end.status != ParseStatus::kComplete) return end;

  std::string_view rest = buffer.substr(start, end.consumed - start);
  const std::string_view request_line = next_line(rest);
  const auto method_end = request_line.find(' ');
  if (method_end == std::string_view::npos) return ParseResult::fail(400, "malformed request line");
  const auto target_end = request_line.find(' ', method_end + 1);
  if (target_end == std::string_view::npos) return ParseResult::fail(400, "malformed request line");
  reset_keeping_capacity(out);
  out.method = request_line.substr(0, method_end);
  out.target = request_line.substr(method_end + 1, target_end - method_end - 1);
  if (!is_token(out.method)) return ParseResult::fail(400, "invalid method");
  if (out.target.empty()) return ParseResult::fail(400, "empty request target");
  for (char c : out.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return ParseResult::fail(400, "invalid character in target");
  }
  if (const ParseResult normalized = normalize_target(out);
      normalized.status == ParseStatus::kError) {
    return normalized;
  }
  const int minor = parse_version(request_line.substr(target_end + 1));
  if (minor == -2) return ParseResult::fail(505, "HTTP version not supported");
  if (minor < 0) return ParseResult::fail(400, "malformed HTTP version");
  out.minor_version = minor;

  if (const ParseResult headers = parse_header_lines(rest, limits_, out, 400);
      headers.status == ParseStatus::kError) {
    return headers;
  }
  if (const ParseResult framing = parse_framing(out, 400); framing.status == ParseStatus::kError) {
    return framing;
  }
  if (out.minor_version == 0 && out.body == BodyKind::kChunked) {
    return ParseResult::fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  int hosts = 0;
  for (const Header& header : out.headers) {
    if (equals_ignore_case(header.name, "host")) {
      ++hosts;
      out.host = header.value;
    }
  }
  if (hosts > 1) return ParseResult::fail(400, "repeated Host");
  if (hosts == 0 && out.minor_version == 1) return ParseResult::fail(400, "missing Host");
  parse_connection(out);
  if (out.minor_version == 1) {
    out.expect_continue = equals_ignore_case(out.find("expect"), "100-continue");
    const std::string_view upgrade = out.find("upgrade");
    out.upgrade = !upgrade.empty() && out.connection_lists("upgrade");
    // An upgrade to h2c (deprecated by RFC 9113) is not taken: the request
    // goes on as plain HTTP/1.1, without its Upgrade. Taken, it would make the
    // connection a tunnel decided once, whatever requests it then carried.
    bool h2c = false;
    for_each_list_item(upgrade, [&](std::string_view item) {
      if (equals_ignore_case(item, "h2c")) h2c = true;
    });
    if (h2c) out.upgrade = false;
    if (out.upgrade) out.upgrade_protocol = upgrade;
  }
  return ParseResult::complete(end.consumed);
}

ParseResult HeadParser::parse_response(std::string_view buffer, std::string_view request_method,
                                       ResponseHead& out) {
  const ParseResult end = find_head_end(buffer, 0, 502);
  if (end.status != ParseStatus::kComplete) return end;

  std::string_view rest = buffer.substr(0, end.consumed);
  const std::string_view status_line = next_line(rest);
  // HTTP/1.1 SP 3DIGIT SP reason; the reason may be empty, the SP before it
  // is tolerated missing (some servers omit it).
  if (status_line.size() < 12 || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return ParseResult::fail(502, "malformed status line");
  }
  reset_keeping_capacity(out);
  const int minor = parse_version(status_line.substr(0, 8));
  if (minor < 0) return ParseResult::fail(502, "malformed HTTP version in response");
  out.minor_version = minor;
  int status = 0;
  for (char c : status_line.substr(9, 3)) {
    if (c < '0' || c > '9') return ParseResult::fail(502, "malformed status code");
    status = status * 10 + (c - '0');
  }
  if (status < 100) return ParseResult::fail(502, "malformed status code");
  out.status = status;
  out.reason = status_line.size() > 13 ? status_line.substr(13) : std::string_view{};
  for (char c : out.reason) {
    if (!is_field_value_char(c)) return ParseResult::fail(502, "invalid character in reason");
  }
  if (const ParseResult headers = parse_header_lines(rest, limits_, out, 502);
      headers.status == ParseStatus::kError) {
    return headers;
  }
  if (const ParseResult framing = parse_framing(out, 502); framing.status == ParseStatus::kError) {
    return framing;
  }
  parse_connection(out);
  if (status == 101) {
    out.upgrade = true;
    out.upgrade_protocol = out.find("upgrade");
    out.body = BodyKind::kNone;
  } else if (status < 200 || status == 204 || status == 304 || request_method == "HEAD") {
    out.body = BodyKind::kNone;  // RFC 9112 section 6.3, rule 1
    out.content_length = 0;
  } else if (out.body == BodyKind::kNone && out.find("content-length").empty()) {
    out.body = BodyKind::kUntilClose;  // no framing: the body ends when the server closes
    out.keep_alive = false;
  }
  return ParseResult::complete(end.consumed);
}

}  // namespace weft::proxy::http1
