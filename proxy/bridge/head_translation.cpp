#include "proxy/bridge/head_translation.h"

#include <nghttp2/nghttp2.h>

#include <charconv>
#include <cstdint>

#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_writer.h"
#include "proxy/http1/syntax.h"

namespace weft::proxy::bridge {
namespace {

void add_lower(http2::HeaderList& out, std::string_view name, std::string_view value) {
  std::string lower(name);
  for (char& c : lower) c = http1::to_lower(c);
  out.add(lower, value);
}

bool is_value(std::string_view value) {
  for (const char c : value) {
    if (!http1::is_field_value_char(c)) return false;
  }
  return true;
}

// A field that may be written into an HTTP/1 head as it is: a token name
// (so no pseudo-header, no colon, no whitespace) and a value without CR, LF,
// NUL or other control bytes.
bool writable(std::string_view name, std::string_view value) {
  return http1::is_token(name) && is_value(value);
}

// HTTP/2 forbids these (RFC 9113 section 8.2.2); nghttp2 refuses them on
// receipt, and neither direction writes them.
bool connection_specific(std::string_view name) {
  return http1::is_hop_by_hop(name) || http1::equals_ignore_case(name, "proxy-connection");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

}  // namespace

bool http1_request_to_http2(const http1::RequestHead& head, std::string_view default_authority,
                            http2::HeaderList& out) {
  out.clear();
  std::string_view target = head.routed_target();
  std::string_view authority = head.host.empty() ? default_authority : head.host;
  std::string_view path = target;
  // Absolute form (to a proxy): the URI's authority wins over Host (RFC 9112
  // section 3.2.2), and the path goes on its own.
  if (const auto scheme_end = target.find("://");
      !target.empty() && target.front() != '/' && scheme_end != std::string_view::npos) {
    const std::string_view rest = target.substr(scheme_end + 3);
    const auto path_start = rest.find_first_of("/?");
    authority = rest.substr(0, path_start);
    path = path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start);
  }
  const bool origin_form = !path.empty() && (path.front() == '/' || path.front() == '?');
  if ((!origin_form && path != "*") || authority.empty()) return false;
  out.add(":method", head.method);
  out.add(":scheme", "http");
  out.add(":authority", authority);
  // ("/?q" keeps its query; "?q" alone has no path: "/" is added before it.)
  if (!path.empty() && path.front() == '?') {
    out.add(":path", std::string("/").append(path));
  } else {
    out.add(":path", path);
  }
  bool te_trailers = false;
  for (const http1::Header& header : head.headers) {
    const std::string_view name = header.name;
    if (http1::equals_ignore_case(name, "te")) {
      http1::for_each_list_item(header.value, [&](std::string_view item) {
        if (http1::equals_ignore_case(item, "trailers")) te_trailers = true;
      });
      continue;
    }
    if (connection_specific(name) || http1::equals_ignore_case(name, "host") ||
        http1::equals_ignore_case(name, "content-length") ||
        http1::equals_ignore_case(name, kOriginalProtocolField) || head.connection_lists(name)) {
      continue;
    }
    add_lower(out, name, header.value);
  }
  if (te_trailers) out.add("te", "trailers");
  if (head.body == http1::BodyKind::kContentLength) {
    std::string length;
    append_number(length, head.content_length);
    out.add("content-length", length);
  }
  out.add(kOriginalProtocolField, kHttp11);
  return true;
}

bool acceptable_as_http2(const http2::HeaderList& block, std::size_t max_list_size) {
  if (block.size > max_list_size) return false;
  const auto bytes = [](std::string_view text) {
    return reinterpret_cast<const std::uint8_t*>(text.data());
  };
  for (const auto& [name, value] : block) {
    if (name == ":method") {
      if (nghttp2_check_method(bytes(value), value.size()) == 0) return false;
    } else if (name == ":authority") {
      if (nghttp2_check_authority(bytes(value), value.size()) == 0) return false;
    } else if (name == ":path") {
      if (nghttp2_check_path(bytes(value), value.size()) == 0) return false;
    } else if (name == ":scheme") {
      continue;  // written by the translation: "http"
    } else if (nghttp2_check_header_name(bytes(name), name.size()) == 0 ||
               nghttp2_check_header_value_rfc9113(bytes(value), value.size()) == 0) {
      return false;
    }
  }
  return true;
}

bool http2_request_to_http1(const http2::HeaderList& block, bool has_body, Http1RequestOut& out) {
  out.head.clear();
  out.method = {};
  std::string_view authority;
  std::string_view path;
  std::string_view length;
  for (const auto& [name, value] : block) {
    if (name == ":method") out.method = value;
    if (name == ":authority") authority = value;
    if (name == ":path") path = value;
    if (name == "content-length") length = value;
    if (name == "host" && authority.empty()) authority = value;
  }
  if (!http1::is_token(out.method) || path.empty() || !is_value(authority)) return false;
  for (const char c : path) {
    if (c <= ' ' || c == 0x7f) return false;  // a request line has no whitespace in its target
  }
  out.head.append(out.method).append(" ").append(path).append(" HTTP/1.1\r\n");
  if (!authority.empty()) append_field(out.head, "Host", authority);
  // HTTP/2 may split the cookie header into fields of their own (RFC 9113
  // section 8.2.3); an HTTP/1 server wants one.
  std::string cookies;
  for (const auto& [name, value] : block) {
    if (name.empty() || name.front() == ':') continue;
    if (name == "host" || name == "content-length" || name == kOriginalProtocolField ||
        connection_specific(name)) {
      continue;
    }
    if (!writable(name, value)) return false;
    if (name == "cookie") {
      if (!cookies.empty()) cookies += "; ";
      cookies += value;
      continue;
    }
    append_field(out.head, name, value);
  }
  if (!cookies.empty()) append_field(out.head, "cookie", cookies);
  out.body = http1::BodyKind::kNone;
  out.content_length = 0;
  const auto parsed = http1::parse_content_length(length);
  if (!length.empty() && !parsed) return false;
  if (has_body) {
    if (parsed) {
      out.body = *parsed > 0 ? http1::BodyKind::kContentLength : http1::BodyKind::kNone;
      out.content_length = *parsed;
    } else {
      out.body = http1::BodyKind::kChunked;
    }
  }
  if (out.body == http1::BodyKind::kChunked) {
    out.head += "Transfer-Encoding: chunked\r\n";
  } else if (parsed) {
    out.head += "Content-Length: ";
    append_number(out.head, has_body ? *parsed : 0);
    out.head += "\r\n";
  } else if (has_body) {
    out.head += "Content-Length: 0\r\n";
  }
  out.head += "\r\n";
  return true;
}

void http1_response_to_http2(const http1::ResponseHead& head, http2::HeaderList& out) {
  out.clear();
  std::string status;
  append_number(status, static_cast<std::uint64_t>(head.status));
  out.add(":status", status);
  for (const http1::Header& header : head.headers) {
    const std::string_view name = header.name;
    if (connection_specific(name) || http1::equals_ignore_case(name, "content-length") ||
        head.connection_lists(name)) {
      continue;
    }
    add_lower(out, name, header.value);
  }
  // The length a HEAD's or a 304's response states is the entity's.
  if (head.body == http1::BodyKind::kContentLength || head.body == http1::BodyKind::kNone) {
    const std::string_view length = head.find("content-length");
    if (!length.empty()) out.add("content-length", length);
  }
}

bool http2_response_to_http1(const http2::HeaderList& head, const ResponseContext& context,
                             Http1ResponseOut& response, std::string& out) {
  response = {};
  std::string_view status_text;
  std::string_view length;
  for (const auto& [name, value] : head) {
    if (name == ":status") status_text = value;
    if (name == "content-length") length = value;
  }
  int status = 0;
  const auto [end, error] =
      std::from_chars(status_text.data(), status_text.data() + status_text.size(), status);
  if (status_text.size() != 3 || error != std::errc() || end != status_text.end() || status < 200 ||
      status > 999) {
    return false;
  }
  const auto parsed_length = http1::parse_content_length(length);
  if (!length.empty() && !parsed_length) return false;
  response.status = status;
  const bool no_body = context.head_request || status == 204 || status == 304;
  response.close = !context.keep_alive;
  std::uint64_t content_length = 0;
  if (no_body) {
    response.body = http1::BodyKind::kNone;
  } else if (parsed_length) {
    response.body = *parsed_length > 0 ? http1::BodyKind::kContentLength : http1::BodyKind::kNone;
    content_length = *parsed_length;
  } else if (context.end_at_head) {
    response.body = http1::BodyKind::kNone;
  } else if (context.client_minor_version >= 1) {
    response.body = http1::BodyKind::kChunked;
  } else {
    response.body = http1::BodyKind::kUntilClose;  // HTTP/1.0: the end is the close
    response.close = true;
  }
  out.append(context.client_minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(status_text).append(" ").append(http1::reason_phrase(status)).append("\r\n");
  for (const auto& [name, value] : head) {
    if (name.empty() || name.front() == ':') continue;
    if (name == "content-length" || connection_specific(name)) continue;
    if (!writable(name, value)) return false;
    append_field(out, name, value);
  }
  if (response.body == http1::BodyKind::kChunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!length.empty() &&
             (response.body == http1::BodyKind::kContentLength || no_body || content_length == 0)) {
    append_field(out, "Content-Length", length);
  } else if (response.body == http1::BodyKind::kNone && status != 204 && status != 304) {
    out += "Content-Length: 0\r\n";
  }
  if (response.close) {
    out += "Connection: close\r\n";
  } else if (context.client_minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return true;
}

void http1_trailers_to_http2(std::string_view lines, http2::HeaderList& out) {
  out.clear();
  while (!lines.empty()) {
    const auto line_end = lines.find("\r\n");
    const std::string_view line = lines.substr(0, line_end);
    lines.remove_prefix(line_end == std::string_view::npos ? lines.size() : line_end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = http1::trim_whitespace(line.substr(colon + 1));
    if (!writable(name, value) || http1::forbidden_in_trailers(name)) continue;
    add_lower(out, name, value);
  }
}

void http2_trailers_to_http1(const http2::HeaderList& fields, std::string& out) {
  out.clear();
  for (const auto& [name, value] : fields) {
    if (!writable(name, value) || http1::forbidden_in_trailers(name)) continue;
    append_field(out, name, value);
  }
}

}  // namespace weft::proxy::bridge
