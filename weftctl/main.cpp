// weftctl: the command line of the Weft service mesh (docs/weftctl.md). Also
// the kubectl plugin `kubectl weft` when installed under the name kubectl-weft.

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "weftctl/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  const std::string program = weft::ctl::display_name(argc > 0 ? argv[0] : "weftctl");
  return weft::ctl::run(
      arguments, program,
      {std::cin, std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1},
      weft::flags::process_environment());
}
