#include "proxy/tls/stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace weft::proxy {

// The socket BIO: OpenSSL reads the bytes already received first (the
// ClientHello detection consumed, then what Stream's async_read_some put in
// `buffer`), then the descriptor until a recv comes back short; writes never
// raise SIGPIPE. Non-blocking: EAGAIN, or a drained socket, becomes a retry,
// which SSL_get_error reports as WANT_READ / WANT_WRITE.
struct SocketBio {
  // Per connection, allocated at its first wait to read: a request or a
  // response head fits; a longer record's rest is read by recv() directly.
  static constexpr std::size_t kBufferSize = 4096;

  int fd = -1;
  std::string received;
  std::size_t offset = 0;
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_begin = 0;
  std::size_t buffer_end = 0;
  // The last recv came back short: the socket holds nothing more until its
  // next readiness, which Stream waits for.
  bool drained = false;
  bool eof = false;  // Stream's read found the peer's FIN: OpenSSL sees it next

  bool holds_bytes() const { return offset < received.size() || buffer_begin < buffer_end; }
};

namespace {

bool retriable(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int bio_read(BIO* bio, char* out, int size) {
  auto* state = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size <= 0) return 0;
  if (state->offset < state->received.size()) {
    const std::size_t n =
        std::min(static_cast<std::size_t>(size), state->received.size() - state->offset);
    std::memcpy(out, state->received.data() + state->offset, n);
    state->offset += n;
    if (state->offset == state->received.size()) std::string().swap(state->received);
    return static_cast<int>(n);
  }
  if (state->buffer_begin < state->buffer_end) {
    const std::size_t n =
        std::min(static_cast<std::size_t>(size), state->buffer_end - state->buffer_begin);
    std::memcpy(out, state->buffer.get() + state->buffer_begin, n);
    state->buffer_begin += n;
    return static_cast<int>(n);
  }
  if (state->eof) return 0;
  if (state->drained) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const ssize_t n = ::recv(state->fd, out, static_cast<std::size_t>(size), 0);
  if (n < 0 && retriable(errno)) {
    state->drained = true;
    BIO_set_retry_read(bio);
  } else if (n > 0 && n < size) {
    state->drained = true;
  }
  return static_cast<int>(n);
}

int bio_write(BIO* bio, const char* in, int size) {
  auto* state = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(state->fd, in, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && retriable(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int bio_destroy(BIO* bio) {
  delete static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft socket");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

// ERR_clear_error walks every slot of the thread's error queue (about 600
// instructions in OpenSSL 3.0); the queue is almost always empty, which
// ERR_peek_error tells at a fraction of that. Called around every record.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

error_code tls_error(int ssl_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (ssl_error == SSL_ERROR_SYSCALL) {
    const int saved = errno;
    clear_errors();
    if (saved == 0) return asio::error::eof;
    return error_code(saved, asio::error::get_system_category());
  }
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  return error_code(static_cast<int>(code != 0 ? code : 1), asio::error::get_ssl_category());
}

}  // namespace

bool Stream::start_tls(SSL_CTX* context, TlsRole role, std::string received,
                       const std::string& server_name) {
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec || context == nullptr) return false;
  SslPtr ssl(SSL_new(context));
  if (!ssl) return false;
  BIO* bio = BIO_new(socket_bio_method());
  if (bio == nullptr) return false;
  auto* state = new SocketBio;
  state->fd = socket_.native_handle();
  state->received = std::move(received);
  BIO_set_data(bio, state);
  SSL_set_bio(ssl.get(), bio, bio);  // one reference for both directions
  if (role == TlsRole::kServer) {
    SSL_set_accept_state(ssl.get());
  } else {
    SSL_set_connect_state(ssl.get());
    if (!server_name.empty() && SSL_set_tlsext_host_name(ssl.get(), server_name.c_str()) != 1) {
      return false;
    }
  }
  ssl_ = std::move(ssl);
  bio_ = state;
  return true;
}

bool Stream::has_buffered_bytes() const {
  return ssl_ && (bio_->holds_bytes() || SSL_has_pending(ssl_.get()) == 1);
}

bool Stream::must_wait_to_read() const {
  // (Not after the peer's close_notify, nor in a handshake or after a fatal
  // error: SSL_read answers those without reading.)
  SSL* ssl = ssl_.get();
  return bio_->drained && !bio_->eof && !bio_->holds_bytes() && SSL_has_pending(ssl) == 0 &&
         !SSL_in_init(ssl) && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) == 0;
}

void Stream::readable() {
  bio_->drained = false;
}

asio::mutable_buffer Stream::fill_space() {
  if (!bio_->buffer) bio_->buffer = std::make_unique_for_overwrite<char[]>(SocketBio::kBufferSize);
  bio_->buffer_begin = bio_->buffer_end = 0;
  return asio::buffer(bio_->buffer.get(), SocketBio::kBufferSize);
}

bool Stream::filled(const error_code& ec, std::size_t n) {
  if (ec == asio::error::eof) {
    bio_->eof = true;
    return true;
  }
  if (ec) return false;
  bio_->buffer_end = n;
  // A short read drained the socket (as the BIO's own recv would have
  // found): the next read of OpenSSL's past these bytes waits again.
  bio_->drained = n < SocketBio::kBufferSize;
  return true;
}

awaitable<bool> Stream::handshake(HandshakeFailure& failure) {
  while (true) {
    clear_errors();
    errno = 0;
    const int result = SSL_do_handshake(ssl_.get());
    if (result == 1) co_return true;
    const int ssl_error = SSL_get_error(ssl_.get(), result);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      error_code ec;
      co_await socket_.async_wait(
          ssl_error == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write, redirect(ec));
      readable();
      if (ec) {
        failure = ec == asio::error::operation_aborted ? HandshakeFailure::kTimeout
                                                       : HandshakeFailure::kClosed;
        co_return false;
      }
      continue;
    }
    failure = classify_handshake_failure(ssl_.get(), ssl_error, ERR_peek_error());
    ERR_clear_error();
    co_return false;
  }
}

Stream::Step Stream::attempt(bool write, void* data, std::size_t size, std::size_t& done,
                             error_code& ec) {
  // The BIO holds the descriptor's number: once closed, it may be another's.
  if (!socket_.is_open()) {
    done = 0;
    ec = asio::error::bad_descriptor;
    return Step::kFailed;
  }
  clear_errors();
  errno = 0;
  const int result = write ? SSL_write_ex(ssl_.get(), data, size, &done)
                           : SSL_read_ex(ssl_.get(), data, size, &done);
  if (result == 1) {
    ec = {};
    return Step::kDone;
  }
  done = 0;
  const int ssl_error = SSL_get_error(ssl_.get(), result);
  if (ssl_error == SSL_ERROR_WANT_READ) return Step::kWantRead;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return Step::kWantWrite;
  ec = tls_error(ssl_error);
  return Step::kFailed;
}

std::size_t Stream::attempt_now(bool write, void* data, std::size_t size, error_code& ec) {
  std::size_t done = 0;
  switch (attempt(write, data, size, done, ec)) {
    case Step::kDone:
    case Step::kFailed:
      return done;
    case Step::kWantRead:
    case Step::kWantWrite:
      ec = asio::error::would_block;
      return 0;
  }
  return 0;
}

std::size_t Stream::write_some(const asio::const_buffer& buffer, error_code& ec) {
  if (!ssl_) return socket_.write_some(buffer, ec);
  return attempt_now(true, const_cast<void*>(buffer.data()), buffer.size(), ec);
}

std::size_t Stream::read_some(const asio::mutable_buffer& buffer, error_code& ec) {
  if (!ssl_) return socket_.read_some(buffer, ec);
  // Called after a wait for readability (or speculatively, as a plain
  // socket's read_some is): recv() is worth a try.
  readable();
  return attempt_now(false, buffer.data(), buffer.size(), ec);
}

void Stream::shutdown_send(error_code& ec) {
  if (ssl_) {
    // One call sends close_notify and returns without waiting for the
    // peer's: reads go on. If the socket cannot take it now, the FIN
    // alone ends the direction (the peer reads an EOF either way).
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  socket_.shutdown(Socket::shutdown_send, ec);
}

}  // namespace weft::proxy
