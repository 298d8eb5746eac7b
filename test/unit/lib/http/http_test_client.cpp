#include "lib/http/http_test_client.h"

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace weft::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

template <typename Stream>
Result<HttpReply> exchange(Stream& stream, const HttpCall& call) {
  bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(call.method), call.target, 11};
  request.set(bhttp::field::host, "localhost");
  if (!call.body.empty()) request.set(bhttp::field::content_type, call.content_type);
  request.body() = call.body;
  request.prepare_payload();
  request.keep_alive(false);
  boost::system::error_code ec;
  bhttp::write(stream, request, ec);
  if (ec) return Error{"write: " + ec.message()};
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(stream, buffer, response, ec);
  if (ec) return Error{"read: " + ec.message()};
  return HttpReply{static_cast<int>(response.result_int()), response.body(),
                   std::string(response[bhttp::field::content_type]),
                   std::string(response[bhttp::field::retry_after])};
}

}  // namespace

Result<HttpReply> http_call(const HttpCall& call) {
  try {
    asio::io_context ioc;
    beast::tcp_stream tcp_stream(ioc);
    tcp_stream.expires_after(std::chrono::seconds(10));
    boost::system::error_code ec;
    tcp_stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), call.port), ec);
    if (ec) return Error{"connect: " + ec.message()};
    if (!call.ca_pem) return exchange(tcp_stream, call);

    asio::ssl::context context(asio::ssl::context::tls_client);
    context.add_certificate_authority(asio::buffer(*call.ca_pem), ec);
    if (ec) return Error{"CA: " + ec.message()};
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), context);
    SSL_set_tlsext_host_name(stream.native_handle(), call.server_name.c_str());
    stream.set_verify_callback(asio::ssl::host_name_verification(call.server_name));
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return Error{"TLS handshake: " + ec.message()};
    return exchange(stream, call);
  } catch (const std::exception& e) {
    return Error{std::string("client: ") + e.what()};
  }
}

}  // namespace weft::test
