#include "proxy/http1/message.h"

#include "proxy/http1/syntax.h"

namespace weft::proxy::http1 {

std::string_view MessageHead::find(std::string_view name) const {
  for (const Header& header : headers) {
    if (equals_ignore_case(header.name, name)) return header.value;
  }
  return {};
}

bool MessageHead::connection_lists(std::string_view token) const {
  for (const Header& header : headers) {
    if (!equals_ignore_case(header.name, "connection")) continue;
    bool found = false;
    for_each_list_item(header.value, [&](std::string_view item) {
      if (equals_ignore_case(item, token)) found = true;
    });
    if (found) return true;
  }
  return false;
}

std::string_view RequestHead::path() const {
  const std::string_view routed = routed_target();
  return routed.substr(0, routed.find('?'));
}

std::string_view RequestHead::query() const {
  const std::string_view routed = routed_target();
  const auto query_start = routed.find('?');
  return query_start == std::string_view::npos ? std::string_view{}
                                               : routed.substr(query_start + 1);
}

Request to_request(const RequestHead& head) {
  Request request;
  request.method = head.method;
  request.authority = head.host;
  request.path = head.path();
  request.query = head.query();
  request.headers = head.headers;
  switch (head.body) {
    case BodyKind::kNone:
      break;
    case BodyKind::kContentLength:
      request.body = {BodySource::Kind::kSized, head.content_length};
      break;
    case BodyKind::kChunked:
    case BodyKind::kUntilClose:
      request.body = {BodySource::Kind::kStreamed, 0};
      break;
  }
  request.expect_continue = head.expect_continue;
  request.upgrade = head.upgrade;
  return request;
}

}  // namespace weft::proxy::http1
