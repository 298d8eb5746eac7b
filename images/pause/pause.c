// weft-pause: the pod sandbox's first process. It holds the pod's namespaces
// open, reaps the zombies that processes sharing its PID namespace leave behind,
// and exits 0 on SIGTERM or SIGINT. Built static (gcc -static -Os) so its image
// holds this one file and nothing else.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_children(void) {
  // Several children may have ended while one SIGCHLD was pending.
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char** argv) {
  if (argc > 1) {
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0) {
      puts("weft-pause " WEFT_VERSION);
      return 0;
    }
    fprintf(stderr, "usage: %s [--version]\nSleeps until SIGTERM or SIGINT, reaping children.\n",
            argv[0]);
    return 2;
  }

  // The signals are blocked and taken synchronously with sigwaitinfo, so there is
  // no handler and no race between checking and sleeping.
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &wanted, NULL) != 0) {
    perror("weft-pause: sigprocmask");
    return 1;
  }

  for (;;) {
    siginfo_t info;
    const int signal_number = sigwaitinfo(&wanted, &info);
    if (signal_number < 0) {
      if (errno == EINTR) continue;
      perror("weft-pause: sigwaitinfo");
      return 1;
    }
    if (signal_number == SIGCHLD) {
      reap_children();
      continue;
    }
    reap_children();
    return 0;  // SIGTERM or SIGINT: the sandbox is being stopped
  }
}
