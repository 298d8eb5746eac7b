// weft-init: the init container that installs the capture rules. The rules are
// computed by weft/capture (shared with the webhook and the proxy's tests) and
// fed to iptables-restore; the nat table is replaced as a whole, so a restarted
// init container leaves the same rules.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <vector>

#include "init/init_flags.h"

extern char** environ;

namespace {

// Runs `program` with `rules` on its stdin; returns its exit status or an error.
weft::Result<int> run_with_input(const std::string& program, const std::string& rules) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return weft::Error{std::string("pipe: ") + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  pid_t pid = 0;
  std::string name = program;
  char* argv[] = {name.data(), nullptr};
  const int spawned = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[0]);
  if (spawned != 0) {
    close(pipe_fds[1]);
    return weft::Error{"cannot run " + program + ": " + std::strerror(spawned)};
  }
  std::size_t written = 0;
  while (written < rules.size()) {
    const auto n = write(pipe_fds[1], rules.data() + written, rules.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the program exited early; its status says why
    written += static_cast<std::size_t>(n);
  }
  close(pipe_fds[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return weft::Error{std::string("waitpid: ") + std::strerror(errno)};
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a failing iptables-restore must not kill us mid-write
  auto flags = weft::init::parse_init_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) {
    std::cerr << "weft-init: " << flags.error().message << " (see --help)\n";
    return 2;
  }
  if (flags->help) {
    std::cout << weft::init::usage();
    return 0;
  }
  // IPv6 too, unless the kernel has no IPv6 at all: a pod that can dial IPv6
  // must not leave the mesh that way.
  const bool ipv6 =
      flags->ipv6 == "on" || (flags->ipv6 == "auto" && access("/proc/net/if_inet6", F_OK) == 0);
  struct Family {
    const char* name;
    std::string program;
    std::string rules;
  };
  std::vector<Family> families{
      {"IPv4", flags->iptables_restore, weft::capture::iptables_restore_rules(flags->settings)}};
  if (ipv6) {
    families.push_back({"IPv6", flags->ip6tables_restore,
                        weft::capture::ip6tables_restore_rules(flags->settings)});
  }
  for (const auto& family : families) {
    // In the container log: what was installed.
    std::cout << "# " << family.name << "\n" << family.rules << std::flush;
    if (flags->dry_run) continue;
    auto status = run_with_input(family.program, family.rules);
    if (!status) {
      std::cerr << "weft-init: " << status.error().message << "\n";
      return 1;
    }
    if (*status != 0) {
      std::cerr << "weft-init: " << family.program << " failed with status " << *status << "\n";
      return 1;
    }
  }
  if (flags->dry_run) return 0;
  std::cerr << "weft-init: capture rules installed (" << (ipv6 ? "IPv4 and IPv6" : "IPv4 only")
            << ")\n";
  return 0;
}
