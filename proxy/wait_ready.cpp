#include "proxy/wait_ready.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <thread>

#include "weft/constants.h"
#include "weft/duration.h"

namespace weft::proxy {
namespace {

constexpr std::string_view kUsage =
    "usage: weft-proxy wait-ready [--admin-port PORT] [--timeout DURATION] [--address IP]\n\n"
    "Waits until the proxy's admin endpoint answers GET /ready with 200 (exit 0),\n"
    "or the timeout passes (exit 1). Each flag can also be set by its variable.\n\n"
    "  --admin-port PORT     (WEFT_PROXY_ADMIN_PORT) default 4191\n"
    "  --timeout DURATION    (WEFT_PROXY_WAIT_READY_TIMEOUT) default 2m\n"
    "  --address IP          loopback address of the admin port, default 127.0.0.1\n";

// A socket closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<WaitReadySettings> parse_wait_ready_settings(const std::vector<std::string>& args,
                                                    const EnvLookup& env, bool* help_requested) {
  WaitReadySettings settings;
  settings.admin_port = kProxyAdminPort;
  std::string port_text = env("WEFT_PROXY_ADMIN_PORT").value_or("");
  std::string timeout_text = env("WEFT_PROXY_WAIT_READY_TIMEOUT").value_or("");
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      if (help_requested != nullptr) *help_requested = true;
      return Error{std::string(kUsage)};
    }
    std::string name = args[i];
    std::string value;
    if (const auto equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Error{"flag " + name + " needs a value"};
    }
    if (name == "--admin-port") {
      port_text = value;
    } else if (name == "--timeout") {
      timeout_text = value;
    } else if (name == "--address") {
      in_addr scratch{};
      if (inet_pton(AF_INET, value.c_str(), &scratch) != 1) {
        return Error{"--address '" + value + "': must be an IPv4 address"};
      }
      settings.address = value;
    } else {
      return Error{"unknown flag " + name + " (see wait-ready --help)"};
    }
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Error{"--admin-port (WEFT_PROXY_ADMIN_PORT) '" + port_text +
                   "': must be a port from 1 to 65535"};
    }
    settings.admin_port = static_cast<std::uint16_t>(port);
  }
  if (!timeout_text.empty()) {
    auto timeout = parse_duration(timeout_text);
    if (!timeout.has_value()) {
      return Error{"--timeout (WEFT_PROXY_WAIT_READY_TIMEOUT) '" + timeout_text +
                   "': " + timeout.error().message};
    }
    settings.timeout = timeout.value();
  }
  return settings;
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
