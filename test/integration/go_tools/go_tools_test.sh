#!/usr/bin/env bash
# Tests of scripts/build-go-tools. Usage: go_tools_test.sh CHECK REPO
#   build              builds (or finds) the pinned tools; they run and say their pinned version
#   check_sees_pins    --check: 0 with every tool at its pin, 1 once a pin differs (no network)
#   unreachable_proxy  with GOPROXY at a closed port and empty caches: exit 1, saying so
set -euo pipefail
check=$1
repo=$2
script=$repo/scripts/build-go-tools
# shellcheck source=../../../scripts/versions.env
source "$repo/scripts/versions.env"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
work=$(mktemp -d)
# -modcacherw: a test's module cache can be removed.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

case $check in
  build)
    bin=$("$script" | tail -n 1)
    [[ $bin == "$("$script" --bin-dir)" ]] || fail "printed $bin, but --bin-dir says $("$script" --bin-dir)"
    "$script" --check || fail "--check says a build is still needed after a build"
    version=${WEFT_H2SPEC_VERSION#v}
    "$bin/h2spec" --version | grep -qF "Version: ${version%+incompatible}" ||
      fail "h2spec --version: $("$bin/h2spec" --version)"
    # ghz (kingpin) prints its version on stderr.
    [[ $("$bin/ghz" --version 2>&1) == "${WEFT_GHZ_VERSION#v}" ]] || fail "ghz --version: $("$bin/ghz" --version 2>&1)"
    for tool in h2spec ghz; do
      # CGO_ENABLED=0: static, so they run anywhere, in any image.
      libraries=$(ldd "$bin/$tool" 2>&1 || true)  # ldd fails on a static program
      [[ $libraries == *"not a dynamic executable"* ]] || fail "$tool is not static: $libraries"
    done
    echo "h2spec and ghz built at their pins in $bin"
    ;;
  check_sees_pins)
    export WEFT_CACHE_DIR=$work/cache
    bin=$("$script" --bin-dir)
    [[ $bin == "$work/cache/go-tools/bin" ]] || fail "--bin-dir ignores WEFT_CACHE_DIR: $bin"
    if "$script" --check; then fail "--check passed on an empty cache"; fi
    mkdir -p "$bin"
    for tool in h2spec ghz; do printf '#!/bin/sh\n' >"$bin/$tool" && chmod +x "$bin/$tool"; done
    printf '%s' "github.com/summerwind/h2spec@$WEFT_H2SPEC_VERSION $WEFT_H2SPEC_REQUIRES" >"$bin/.h2spec.pin"
    printf '%s' "github.com/bojand/ghz@$WEFT_GHZ_VERSION" >"$bin/.ghz.pin"
    "$script" --check || fail "--check wants a build with both tools at their pins"
    printf '%s' "github.com/bojand/ghz@v0.119.0" >"$bin/.ghz.pin"
    if "$script" --check; then fail "--check missed ghz built at another version"; fi
    echo "--check follows the pins"
    ;;
  unreachable_proxy)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    status=0
    WEFT_CACHE_DIR=$work/cache GOMODCACHE=$work/mod GOFLAGS=-modcacherw GOPROXY=http://127.0.0.1:$port \
      "$script" >"$work/out" 2>"$work/err" || status=$?
    ((status == 1)) || fail "exit $status, want 1; stderr: $(cat "$work/err")"
    grep -qF "cannot reach the Go module proxy (GOPROXY=http://127.0.0.1:$port)" "$work/err" ||
      fail "the error does not say the proxy is unreachable: $(cat "$work/err")"
    [[ ! -s $work/out ]] || fail "printed a bin directory although nothing was built: $(cat "$work/out")"
    [[ -z $(ls "$work/cache/go-tools/bin") ]] || fail "left files in bin/: $(ls "$work/cache/go-tools/bin")"
    echo "an unreachable proxy is reported: $(grep -F 'cannot reach' "$work/err")"
    ;;
  *) fail "unknown check $check" ;;
esac
