#pragma once

// A TLS server on loopback for unit tests of TLS clients: it accepts every
// protocol version a client offers (security level 0, TLS 1.0 up), records the
// lowest version each ClientHello offered and each request's head, and answers
// every request with one fixed HTTP response. Its certificate can be swapped
// between connections (a CA rotation). Header-only, OpenSSL only.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::test {

class TlsProbeServer {
 public:
  TlsProbeServer(std::string cert_pem, std::string key_pem, bool ipv6 = false,
                 std::string response =
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
      : cert_(std::move(cert_pem)), key_(std::move(key_pem)), response_(std::move(response)) {
    listener_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (ipv6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_addr = in6addr_loopback;
      ok_ = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok_ = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ok_ = ok_ && ::listen(listener_, 16) == 0 &&
          ::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &length) == 0;
    port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~TlsProbeServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  TlsProbeServer(const TlsProbeServer&) = delete;
  TlsProbeServer& operator=(const TlsProbeServer&) = delete;

  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }

  // Served from the next connection on.
  void set_certificate(std::string cert_pem, std::string key_pem) {
    std::lock_guard lock(mutex_);
    cert_ = std::move(cert_pem);
    key_ = std::move(key_pem);
  }
  // The lowest version (TLS1_VERSION ...) each ClientHello offered, in order.
  std::vector<int> lowest_offered() const {
    std::lock_guard lock(mutex_);
    return lowest_offered_;
  }
  std::vector<std::string> request_heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
  }
  int handshakes_completed() const { return completed_.load(); }

 private:
  static int on_client_hello(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<TlsProbeServer*>(arg);
    int lowest = static_cast<int>(SSL_client_hello_get0_legacy_version(ssl));
    const unsigned char* ext = nullptr;
    std::size_t size = 0;
    // supported_versions (43): a length byte, then two bytes per version.
    if (SSL_client_hello_get0_ext(ssl, 43, &ext, &size) == 1 && size >= 1) {
      lowest = 0xffff;
      for (std::size_t i = 1; i + 1 < size; i += 2) {
        const int version = (ext[i] << 8) | ext[i + 1];
        if ((version & 0x0f0f) == 0x0a0a) continue;  // GREASE
        lowest = std::min(lowest, version);
      }
    }
    std::lock_guard lock(self->mutex_);
    self->lowest_offered_.push_back(lowest);
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  SSL_CTX* make_context() {
    std::lock_guard lock(mutex_);
    SSL_CTX* context = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(context, 0);
    SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
    SSL_CTX_set_client_hello_cb(context, on_client_hello, this);
    BIO* cert = BIO_new_mem_buf(cert_.data(), static_cast<int>(cert_.size()));
    BIO* key = BIO_new_mem_buf(key_.data(), static_cast<int>(key_.size()));
    X509* x509 = PEM_read_bio_X509(cert, nullptr, nullptr, nullptr);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(context, x509);
    SSL_CTX_use_PrivateKey(context, pkey);
    X509_free(x509);
    EVP_PKEY_free(pkey);
    BIO_free(cert);
    BIO_free(key);
    return context;
  }

  void serve() {
    while (!stop_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval timeout{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      SSL_CTX* context = make_context();
      SSL* ssl = SSL_new(context);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        completed_.fetch_add(1);
        std::string head;
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          const int n = SSL_read(ssl, buffer, sizeof buffer);
          if (n <= 0) break;
          head.append(buffer, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard lock(mutex_);
          heads_.push_back(head.substr(0, head.find("\r\n\r\n")));
        }
        SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      SSL_CTX_free(context);
      ::close(fd);
    }
  }

  mutable std::mutex mutex_;
  std::string cert_;
  std::string key_;
  const std::string response_;
  std::vector<int> lowest_offered_;
  std::vector<std::string> heads_;
  std::atomic<int> completed_{0};
  int listener_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weft::test
