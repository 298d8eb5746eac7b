#include "proxy/core/tls_client.h"

#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>

#include "proxy/http1/head_parser.h"

namespace weft::proxy {

std::string configure_client_tls(asio::ssl::context& context, std::string_view ca_pem,
                                 int min_version) {
  SSL_CTX_set_min_proto_version(context.native_handle(), min_version);
  error_code ec;
  context.add_certificate_authority(asio::buffer(ca_pem.data(), ca_pem.size()), ec);
  if (ec) return "trust anchors: " + ec.message();
  context.set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec) return "verify mode: " + ec.message();
  return {};
}

awaitable<std::string> connect_tls(TlsStream& stream, const std::string& host, std::uint16_t port,
                                   const std::string& server_name) {
  error_code ec;
  X509_VERIFY_PARAM* verify = SSL_get0_param(stream.native_handle());
  asio::ip::make_address(server_name, ec);  // only whether it parses as one
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(verify, server_name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(verify, server_name.c_str(), server_name.size());
    SSL_set_tlsext_host_name(stream.native_handle(), server_name.c_str());
  }
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    // The usual case for the API server: no resolver (whose first use starts
    // a thread).
    co_await stream.next_layer().async_connect(tcp::endpoint(address, port), redirect(ec));
  } else {
    tcp::resolver resolver(stream.get_executor());
    const auto addresses =
        co_await resolver.async_resolve(host, std::to_string(port), redirect(ec));
    if (ec) co_return "resolving " + host + ": " + ec.message();
    co_await asio::async_connect(stream.next_layer(), addresses, redirect(ec));
  }
  if (ec) co_return "connecting: " + ec.message();
  co_await stream.async_handshake(asio::ssl::stream_base::client, redirect(ec));
  if (ec) co_return "TLS handshake: " + ec.message();
  co_return std::string();
}

awaitable<std::string> read_response_head(TlsStream& stream, ReadBuffer& buffer,
                                          std::string_view method, http1::ResponseHead& head,
                                          std::size_t& head_size) {
  http1::HeadParser parser;
  head_size = 0;
  while (true) {
    const http1::ParseResult parsed = parser.parse_response(buffer.data(), method, head);
    if (parsed.status == http1::ParseStatus::kError) {
      co_return "malformed answer: " + std::string(parsed.error.reason);
    }
    if (parsed.status == http1::ParseStatus::kComplete) {
      if (!head.is_interim()) {
        head_size = parsed.consumed;
        co_return std::string();
      }
      buffer.consume(parsed.consumed);
      parser.reset();
      continue;
    }
    error_code ec;
    const std::size_t n = co_await stream.async_read_some(buffer.prepare(), redirect(ec));
    if (ec) co_return "reading the answer: " + ec.message();
    buffer.commit(n);
  }
}

awaitable<std::string> read_body(TlsStream& stream, ReadBuffer& buffer, http1::BodyDecoder& decoder,
                                 const std::function<bool(std::string_view)>& on_data) {
  while (!decoder.done()) {
    while (!buffer.empty() && !decoder.done()) {
      const http1::BodyDecoder::Step step = decoder.decode(buffer.data());
      if (step.error.status != 0) co_return "malformed body: " + std::string(step.error.reason);
      const bool go_on = step.data.empty() || on_data(step.data);
      buffer.consume(step.consumed);
      if (!go_on) co_return std::string();
      if (step.consumed == 0) break;
    }
    if (decoder.done()) break;
    error_code ec;
    const std::size_t n = co_await stream.async_read_some(buffer.prepare(), redirect(ec));
    if (ec && decoder.until_close() &&
        (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
      break;
    }
    if (ec) co_return "reading the body: " + ec.message();
    buffer.commit(n);
  }
  co_return std::string();
}

}  // namespace weft::proxy
