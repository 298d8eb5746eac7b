#pragma once

// A blocking HTTP/1.1 client for tests of weft::http::Server: one request per
// connection, plain or TLS (verifying the server against a CA in PEM).

#include <cstdint>
#include <optional>
#include <string>

#include "weft/result.h"

namespace weft::test {

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, "" when absent
};

struct HttpCall {
  std::uint16_t port = 0;
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string content_type = "application/json";
  std::optional<std::string> ca_pem;  // TLS when set
  std::string server_name = "localhost";
};

// Never throws; a connection or TLS failure is an Error with its reason.
Result<HttpReply> http_call(const HttpCall& call);

inline Result<HttpReply> http_get(std::uint16_t port, std::string target,
                                  std::optional<std::string> ca_pem = std::nullopt) {
  HttpCall call;
  call.port = port;
  call.target = std::move(target);
  call.ca_pem = std::move(ca_pem);
  return http_call(call);
}

inline Result<HttpReply> http_post(std::uint16_t port, std::string target, std::string body,
                                   std::optional<std::string> ca_pem = std::nullopt) {
  HttpCall call;
  call.port = port;
  call.method = "POST";
  call.target = std::move(target);
  call.body = std::move(body);
  call.ca_pem = std::move(ca_pem);
  return http_call(call);
}

}  // namespace weft::test
