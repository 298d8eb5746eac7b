#include "proxy/http2/request_head.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proxy/bridge/head_translation.h"
#include "proxy/request/grpc.h"
#include "proxy/request/path.h"

namespace weft::proxy::http2 {

void to_request(const RequestHead& head, ConvertedRequest& out) {
  out.headers.clear();
  out.forwarded.clear();
  out.refusal = {};
  out.grpc = false;
  out.grpc_timeout.reset();
  Request& request = out.request;
  request = {};
  if (head.too_large) {
    out.refusal = {431, "request header list too large", false};
    return;
  }
  std::string_view scheme;
  std::string_view raw_path;
  std::string_view host;
  std::string_view content_length;
  out.headers.reserve(std::max(head.block.count(), ConvertedRequest::kFirstHeaders));
  for (const auto& [name, value] : head.block) {
    if (!name.empty() && name[0] == ':') {
      if (name == ":method") request.method = value;
      if (name == ":scheme") scheme = value;
      if (name == ":authority") request.authority = value;
      if (name == ":path") raw_path = value;
      continue;
    }
    // Between proxies only, and honoured by the server side before this:
    // never forwarded, whoever sent it.
    if (name == bridge::kOriginalProtocolField) continue;
    out.headers.push_back({name, value});
    if (name == "host") host = value;
    if (name == "content-length") content_length = value;
    if (name == "content-type" && grpc::is_grpc_content_type(value)) out.grpc = true;
    if (name == "grpc-timeout") out.grpc_timeout = grpc::parse_timeout(value);
  }
  if (request.method.empty()) {
    out.refusal = {400, "no :method", false};
    return;
  }
  // Host and :authority naming two hosts: routing and the application could
  // each pick another one (RFC 9113 section 8.3.1).
  const auto same_host = [](std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
  };
  if (!request.authority.empty() && !host.empty() && !same_host(host, request.authority)) {
    out.refusal = {400, "Host differs from :authority", false};
    return;
  }
  if (request.authority.empty()) request.authority = host;
  request.headers = out.headers;
  // The body: none with END_STREAM, else as long as content-length says
  // (nghttp2 holds DATA to it), else streamed to its end.
  if (!head.end_stream) {
    std::uint64_t length = 0;
    const auto [end, error] = std::from_chars(
        content_length.data(), content_length.data() + content_length.size(), length);
    const bool sized = !content_length.empty() && error == std::errc() &&
                       end == content_length.data() + content_length.size();
    request.body = sized ? BodySource{BodySource::Kind::kSized, length}
                         : BodySource{BodySource::Kind::kStreamed, 0};
  }
  // CONNECT has no :path (the admission layer refuses it: 501).
  if (raw_path.empty()) {
    if (request.method != "CONNECT") out.refusal = {400, "no :path", false};
    return;
  }
  const auto query_start = raw_path.find('?');
  const std::string_view path_only = raw_path.substr(0, query_start);
  const std::string_view query =
      query_start == std::string_view::npos ? std::string_view() : raw_path.substr(query_start);
  out.path.clear();
  if (!path_only.empty() && path_only.front() == '/') {  // ("?a": no path before the query)
    std::string normalized;
    const PathNormalization verdict = normalize_path(path_only, normalized);
    if (verdict.verdict == PathNormalization::Verdict::kRefused) {
      out.refusal = {400, verdict.reason, false};
      return;
    }
    out.path = verdict.verdict == PathNormalization::Verdict::kNormalized ? normalized
                                                                          : std::string(path_only);
  } else if (path_only == "*" && request.method == "OPTIONS" && query.empty()) {
    out.path.assign(path_only);  // "*" (assigning the literal trips GCC 12's -Wrestrict)
  } else {
    out.refusal = {400, "request target not origin-form", false};
    return;
  }
  const std::size_t path_length = out.path.size();
  out.path += query;
  const std::string_view path_view = out.path;
  request.path = path_view.substr(0, path_length);
  request.query = query.empty() ? std::string_view() : path_view.substr(path_length + 1);

  out.forwarded.add(":method", request.method);
  out.forwarded.add(":scheme", scheme.empty() ? std::string_view("http") : scheme);
  if (!request.authority.empty()) out.forwarded.add(":authority", request.authority);
  out.forwarded.add(":path", out.path);
  for (const Header& header : out.headers) out.forwarded.add(header.name, header.value);
}

}  // namespace weft::proxy::http2
