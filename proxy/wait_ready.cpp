#include "proxy/wait_ready.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "weft/constants.h"
#include "weft/duration.h"

namespace weft::proxy {
namespace {

// A socket closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

const flags::Program<WaitReadySettings>& program() {
  using W = WaitReadySettings;
  static const flags::Program<W> table{
      .usage = "Usage: weft-proxy wait-ready [flags]",
      .about =
          "Waits until the proxy's admin endpoint answers GET /ready with 200 (exit 0),\n"
          "or the timeout passes (exit 1).",
      .flags =
          {
              flags::integer("admin-port", &W::admin_port, 1, 65535, "the proxy's admin port")
                  .value_name("PORT")
                  .env(kEnvAdminPort),
              flags::duration("timeout", &W::timeout, "give up after this long")
                  .env("WEFT_PROXY_WAIT_READY_TIMEOUT"),
              flags::ip_address("address", &W::address, "loopback address of the admin port",
                                flags::IpFamily::kIpv4),
          },
  };
  return table;
}

}  // namespace

Result<WaitReadySettings> parse_wait_ready_settings(const std::vector<std::string>& args,
                                                    const EnvLookup& env, bool* help_requested) {
  auto parsed = flags::parse(program(), args, env);
  if (!parsed.has_value()) return parsed.error();
  if (parsed->help) {
    if (help_requested != nullptr) *help_requested = true;
    return Error{flags::usage(program())};
  }
  return std::move(parsed->options);
}

bool is_ready(const std::string& address, std::uint16_t port,
              std::chrono::milliseconds io_timeout) {
  Fd socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (socket.fd < 0) return false;
  // Bounds connect, send and each receive.
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(io_timeout.count() / 1000);
  limit.tv_usec = static_cast<suseconds_t>((io_timeout.count() % 1000) * 1000);
  setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  setsockopt(socket.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &target.sin_addr) != 1) return false;
  if (::connect(socket.fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
    return false;
  }
  constexpr std::string_view request =
      "GET /ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (::send(socket.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  // The status line is enough: "HTTP/1.1 200 ".
  char answer[32];
  std::size_t received = 0;
  while (received < 13) {
    const ssize_t n = ::recv(socket.fd, answer + received, sizeof answer - received, 0);
    if (n <= 0) return false;
    received += static_cast<std::size_t>(n);
  }
  const std::string_view status_line(answer, received);
  return status_line.starts_with("HTTP/1.") && status_line.substr(8, 5) == " 200 ";
}

int wait_ready(const WaitReadySettings& settings) {
  const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
  while (true) {
    if (is_ready(settings.address, settings.admin_port, std::chrono::seconds(1))) return 0;
    if (std::chrono::steady_clock::now() + settings.interval >= deadline) break;
    std::this_thread::sleep_for(settings.interval);
  }
  std::fprintf(stderr, "weft-proxy wait-ready: %s:%u/ready did not answer 200 within %lld ms\n",
               settings.address.c_str(), static_cast<unsigned>(settings.admin_port),
               static_cast<long long>(settings.timeout.count()));
  return 1;
}

}  // namespace weft::proxy
