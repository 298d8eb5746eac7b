#!/usr/bin/env bash
# Asserts that a program is linked without some libraries, by construction:
# its link line (what CMake's targets bring, before --as-needed can drop
# anything) and, as a second look, the shared libraries the binary needs.
#   check_links.sh <build dir> <target> <binary> <forbidden regex>
# e.g. check_links.sh build weft-proxy build/bin/weft-proxy 'curl|yaml-cpp'
set -euo pipefail

build_dir=$1 target=$2 binary=$3 forbidden=$4

# Ninja keeps the link line in build.ninja; Makefiles in the target's link.txt.
link_line=""
if [[ -f $build_dir/build.ninja ]]; then
  link_line=$(awk -v target="$target" '
    $1 == "build" && $2 ~ ("(^|/)" target ":$") { inside = 1; next }
    inside && /^[^ ]/ { inside = 0 }
    inside && $1 == "LINK_LIBRARIES" { print }' "$build_dir/build.ninja")
else
  link_line=$(cat "$build_dir"/*/CMakeFiles/"$target".dir/link.txt 2>/dev/null || true)
fi
if [[ -z $link_line ]]; then
  echo "check_links: no link line found for $target in $build_dir" >&2
  exit 2
fi
if grep -Eo "[^ ]*($forbidden)[^ ]*" <<<"$link_line"; then
  echo "check_links: $target's link line has the libraries above (forbidden: $forbidden)" >&2
  exit 1
fi
if ldd "$binary" | grep -E "$forbidden"; then
  echo "check_links: $binary needs the shared libraries above (forbidden: $forbidden)" >&2
  exit 1
fi
echo "check_links: $target links none of: $forbidden"
