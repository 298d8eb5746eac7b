#pragma once

// The byte stream the HTTP/1 codec, the body pump, the tunnel and the
// upstream pool read and write: a plain socket, or TLS over it. A plain
// stream's I/O goes straight to the socket's own operations (one branch, no
// allocation, no virtual call); a TLS stream runs OpenSSL on the socket's
// non-blocking descriptor through a BIO of its own, waiting for readiness
// with the socket's own operations, so cancelling or closing the socket ends a
// TLS operation as it ends a plain one (Deadline works unchanged).
//
// Why not asio::ssl::stream: its shutdown waits for the peer's close_notify
// by reading, which cannot run beside the tunnel's other direction reading
// the same stream (a half-close must send close_notify and keep reading), it
// keeps two 17 KB buffers of its own per connection, and it cannot start from
// bytes already read (the ClientHello protocol detection consumed).
//
// Waiting to read: OpenSSL's reads go to the BIO, which stops calling recv()
// once the socket is drained (a recv that came back short); the wait is then
// the socket's own async_read_some into a small buffer the BIO hands OpenSSL
// first. Asio's reactor knows from its edge-triggered events whether that
// read may try at once or must wait, and waits without a system call, where
// an async_wait re-arms the descriptor with epoll_ctl every time. Per TLS
// read: one recv, as on a plain socket, instead of recv (EAGAIN), epoll_ctl,
// recv.

#include <openssl/ssl.h>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/core/asio.h"
#include "proxy/tls/tls_context.h"

namespace weft::proxy {

// The BIO's state (stream.cpp): the bytes read before OpenSSL asked.
struct SocketBio;

class Stream {
 public:
  using executor_type = Executor;
  using lowest_layer_type = Socket;

  explicit Stream(const Executor& executor) : socket_(executor) {}
  explicit Stream(Socket socket) : socket_(std::move(socket)) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;

  executor_type get_executor() { return socket_.get_executor(); }
  Socket& lowest_layer() { return socket_; }
  bool is_tls() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_.get(); }

  // Puts TLS over the connected socket in `role`; `received`: bytes already
  // read from the socket (a ClientHello), fed to OpenSSL first. Then
  // handshake(). False when OpenSSL could not make the session.
  bool start_tls(SSL_CTX* context, TlsRole role, std::string received = {},
                 const std::string& server_name = {});
  // The handshake, once; the caller bounds it with a Deadline on the socket.
  // On failure, `failure` says why (classified from OpenSSL's errors).
  awaitable<bool> handshake(HandshakeFailure& failure);

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (!ssl_) return socket_.async_read_some(buffers, std::forward<Token>(token));
    return tls_io<false>(first_buffer(buffers), std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (!ssl_) return socket_.async_write_some(buffers, std::forward<Token>(token));
    return tls_io<true>(gather(buffers), std::forward<Token>(token));
  }
  template <typename Token>
  auto async_wait(Socket::wait_type what, Token&& token) {
    return socket_.async_wait(what, std::forward<Token>(token));
  }

  // A non-blocking read (after non_blocking(true)): would_block when
  // nothing is there, for the tunnel's read-then-wait loop. A TLS stream
  // returns what OpenSSL already decrypted before looking at the socket.
  std::size_t read_some(const asio::mutable_buffer& buffer, error_code& ec);
  // A non-blocking write (after non_blocking(true)): would_block when the
  // socket takes nothing now. On TLS, a write that would block must be tried
  // again with the same bytes first (OpenSSL may hold part of a record).
  std::size_t write_some(const asio::const_buffer& buffer, error_code& ec);
  void non_blocking(bool mode, error_code& ec) { socket_.non_blocking(mode, ec); }

  // Ends the sending direction: close_notify first on TLS (the peer's reads
  // see EOF, its writes still reach us), then the TCP FIN.
  void shutdown_send(error_code& ec);
  void cancel(error_code& ec) { socket_.cancel(ec); }
  void close(error_code& ec) { socket_.close(ec); }
  bool is_open() const { return socket_.is_open(); }
  // TLS: bytes OpenSSL or its BIO hold, received but not yet read.
  bool has_buffered_bytes() const;

 private:
  enum class Step { kDone, kWantRead, kWantWrite, kFailed };
  // One SSL_read / SSL_write attempt.
  Step attempt(bool write, void* data, std::size_t size, std::size_t& done, error_code& ec);
  // The same for the non-blocking read_some/write_some: what OpenSSL would
  // wait for is would_block.
  std::size_t attempt_now(bool write, void* data, std::size_t size, error_code& ec);
  // The socket may hold bytes again (a wait said so): the BIO's next read
  // calls recv().
  void readable();
  // SSL_read would only ask the BIO, and find nothing: OpenSSL and the BIO
  // hold no byte, and the socket was drained since its last readiness.
  bool must_wait_to_read() const;
  // Where the socket's async_read_some puts what OpenSSL reads next (the
  // BIO's buffer, empty when OpenSSL wants to read); then filled() with its
  // result: false when that ends the operation (an error but EOF, which
  // OpenSSL is told of through the BIO, as its own recv would have).
  asio::mutable_buffer fill_space();
  bool filled(const error_code& ec, std::size_t n);

  template <typename Buffers>
  static asio::mutable_buffer first_buffer(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      if (it->size() > 0) return asio::mutable_buffer(*it);
    }
    return {};
  }
  // A write's pieces as one TLS record where they are small (a chunk-size
  // line, a head): each SSL_write is a record and a system call.
  template <typename Buffers>
  asio::const_buffer gather(const Buffers& buffers) {
    auto it = asio::buffer_sequence_begin(buffers);
    const auto end = asio::buffer_sequence_end(buffers);
    while (it != end && it->size() == 0) ++it;
    if (it == end) return {};
    const asio::const_buffer first(*it);
    auto next = it;
    ++next;
    if (next == end || first.size() >= kGatherLimit / 2) return first;
    write_scratch_.clear();
    for (; it != end && write_scratch_.size() < kGatherLimit; ++it) {
      const asio::const_buffer piece(*it);
      const std::size_t n = std::min(piece.size(), kGatherLimit - write_scratch_.size());
      write_scratch_.append(static_cast<const char*>(piece.data()), n);
    }
    return asio::buffer(write_scratch_);
  }

  // Reads or writes one buffer over TLS; a result at once is posted, not
  // called from inside the initiation.
  template <bool kWrite>
  struct TlsIo {
    Stream* stream;
    void* data;
    std::size_t size;
    enum { kStarting, kWaiting, kPosted } phase = kStarting;
    error_code result{};
    std::size_t done = 0;
    template <typename Self>
    void operator()(Self& self, error_code ec = {}) {
      if (phase == kPosted) return self.complete(result, done);
      if (ec) return self.complete(ec, 0);
      if (phase == kWaiting) stream->readable();
      next(self);
    }
    // The socket's read into the BIO's buffer completed.
    template <typename Self>
    void operator()(Self& self, error_code ec, std::size_t n) {
      if (!stream->filled(ec, n)) return self.complete(ec, 0);
      next(self);
    }
    template <typename Self>
    void next(Self& self) {
      // A read that can only find the socket drained skips SSL_read (about
      // a thousand instructions with its error-queue checks) and waits.
      const Step step = size == 0 ? Step::kDone
                        : !kWrite && stream->must_wait_to_read()
                            ? Step::kWantRead
                            : stream->attempt(kWrite, data, size, done, result);
      if (step == Step::kWantRead && !kWrite) {
        phase = kWaiting;
        stream->socket_.async_read_some(stream->fill_space(), std::move(self));
        return;
      }
      if (step == Step::kWantRead || step == Step::kWantWrite) {
        phase = kWaiting;
        stream->socket_.async_wait(step == Step::kWantRead ? Socket::wait_read : Socket::wait_write,
                                   std::move(self));
        return;
      }
      if (phase == kStarting) {
        phase = kPosted;
        asio::post(std::move(self));
        return;
      }
      self.complete(result, done);
    }
  };
  template <bool kWrite, typename Buffer, typename Token>
  auto tls_io(Buffer buffer, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        TlsIo<kWrite>{this, const_cast<void*>(static_cast<const void*>(buffer.data())),
                      buffer.size()},
        token, socket_);
  }

  static constexpr std::size_t kGatherLimit = 16 * 1024;

  Socket socket_;
  SslPtr ssl_;
  SocketBio* bio_ = nullptr;  // owned by ssl_'s BIO
  std::string write_scratch_;
};

}  // namespace weft::proxy
