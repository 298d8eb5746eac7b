#pragma once

// weft-init's command line: the capture settings (as the webhook writes them
// into the init container's args) and how to apply them.

#include <string>
#include <vector>

#include "weft/capture/rules.h"
#include "weft/result.h"

namespace weft::init {

struct InitFlags {
  bool help = false;
  bool dry_run = false;  // print the rules, apply nothing
  std::string iptables_restore = "iptables-restore";
  std::string ip6tables_restore = "ip6tables-restore";
  // IPv6 capture: "auto" installs the ip6tables rules when the kernel has IPv6
  // (/proc/net/if_inet6 exists) and fails if they cannot be installed; "on"
  // always; "off" never (a pod that can use IPv6 then bypasses the proxy).
  std::string ipv6 = "auto";
  capture::CaptureSettings settings;
};

std::string usage();
Result<InitFlags> parse_init_flags(const std::vector<std::string>& args);

}  // namespace weft::init
