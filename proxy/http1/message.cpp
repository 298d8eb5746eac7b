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
  const auto query_start = target.find('?');
  return query_start == std::string_view::npos ? target : target.substr(0, query_start);
}

std::string_view RequestHead::query() const {
  const auto query_start = target.find('?');
  return query_start == std::string_view::npos ? std::string_view{}
                                               : target.substr(query_start + 1);
}

Request to_request(const RequestHead& head) {
  Request request;
  request.method = head.method;
  request.authority = head.host;
  const auto query_start = head.target.find('?');
  if (query_start == std::string_view::npos) {
    request.path = head.target;
  } else {
    request.path = head.target.substr(0, query_start);
    request.query = head.target.substr(query_start + 1);
  }
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
