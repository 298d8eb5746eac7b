#pragma once

// The proxy's own small HTTPS client pieces (Asio, OpenSSL, the proxy's
// HTTP/1 parser), shared by the ConfigMap watch (proxy/config/api_watcher)
// and the identity client (proxy/identity/identity_client): connecting with
// the server's name checked, reading a response head, reading a body. Each
// returns an error text, "" on success (no exception on what a server sends).

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/core/asio.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/message.h"

namespace weft::proxy {

using TlsStream = asio::ssl::stream<Socket>;

// A client context that verifies the server against the PEM certificates in
// `ca_pem` (one or more) and offers nothing older than `min_version`.
// Returns an error text, "" on success.
std::string configure_client_tls(asio::ssl::context& context, std::string_view ca_pem,
                                 int min_version = TLS1_2_VERSION);

// Connects the stream's socket to host:port (an IP literal, connected
// directly, or a DNS name, resolved with Asio's resolver) and does the TLS
// handshake. The server's certificate must name `server_name`: an IP SAN when
// it is an address, else a DNS SAN, which is also sent as SNI. A time limit
// is the caller's (a Deadline on stream.next_layer()).
awaitable<std::string> connect_tls(TlsStream& stream, const std::string& host, std::uint16_t port,
                                   const std::string& server_name);

// Reads a final response head (interim ones are skipped) into `head`, whose
// views point into `buffer`; `head_size` is its length, for the caller to
// consume once it is done with the views.
awaitable<std::string> read_response_head(TlsStream& stream, ReadBuffer& buffer,
                                          std::string_view method, http1::ResponseHead& head,
                                          std::size_t& head_size);

// Reads a body to its end (or until on_data returns false), passing each
// decoded slice on.
awaitable<std::string> read_body(TlsStream& stream, ReadBuffer& buffer, http1::BodyDecoder& decoder,
                                 const std::function<bool(std::string_view)>& on_data);

}  // namespace weft::proxy
