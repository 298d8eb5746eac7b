#!/usr/bin/env python3
"""Adjusts the runc config.json that `umoci unpack` wrote from an image's config.

The process keeps the image's Entrypoint, User, Env and WorkingDir; the test
appends its arguments, turns the terminal off and the root filesystem
read-only, and can join a network namespace the test created and set the
capabilities (as the webhook injects weft-init: NET_ADMIN and NET_RAW only).

Usage: bundle_config.py CONFIG [--netns PATH] [--capabilities CAP,...]
                        [--mount HOST_DIR:CONTAINER_DIR]... [--env NAME=VALUE]... [-- ARG...]
"""

import argparse
import json
import os
import shutil
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--netns", help="join this network namespace instead of a new one")
    parser.add_argument("--capabilities", help="comma-separated, e.g. CAP_NET_ADMIN,CAP_NET_RAW")
    parser.add_argument("--mount", action="append", default=[],
                        help="HOST_DIR:CONTAINER_DIR, bound read-only")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE")
    argv = sys.argv[1:]
    extra_args = argv[argv.index("--") + 1:] if "--" in argv else []
    options = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    # Every call starts from the config umoci wrote (kept beside it), so a test
    # can run one bundle several times with different arguments.
    original = options.config + ".umoci"
    if not os.path.exists(original):
        shutil.copyfile(options.config, original)
    with open(original, encoding="utf-8") as f:
        config = json.load(f)
    process = config["process"]
    process["args"] = process["args"] + extra_args
    process["terminal"] = False
    process["env"] = process["env"] + options.env
    for mount in options.mount:
        source, destination = mount.split(":", 1)
        config["mounts"].append({"destination": destination, "type": "bind", "source": source,
                                 "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})
    config["root"]["readonly"] = True
    if options.netns:
        namespaces = [n for n in config["linux"]["namespaces"] if n["type"] != "network"]
        namespaces.append({"type": "network", "path": options.netns})
        config["linux"]["namespaces"] = namespaces
    if options.capabilities is not None:
        capabilities = options.capabilities.split(",") if options.capabilities else []
        process["capabilities"] = {
            "bounding": capabilities, "effective": capabilities, "permitted": capabilities,
            "inheritable": [], "ambient": []}
    with open(options.config, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)


if __name__ == "__main__":
    main()
