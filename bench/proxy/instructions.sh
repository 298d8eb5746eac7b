#!/usr/bin/env bash
# Instructions per request of weft-proxy, counted by callgrind: a measure that,
# unlike CPU time, does not move with the machine's noise, for comparing two
# builds (a change against the commit before it). The proxy runs under
# valgrind with one worker, as in bench/proxy/run.sh (nginx answers "ok"
# behind it); its counters are zeroed once it started, N requests are sent by
# fortio on 4 connections as fast as they are answered, and the user-space
# instructions executed meanwhile are divided by N. System calls are counted
# by `strace -c` separately when needed; callgrind sees only user space.
#
# Usage: bench/proxy/instructions.sh [--build-dir DIR] [--baseline DIR] [--requests N]
# Needs valgrind and nginx (scripts/install-deps installs nginx; valgrind:
# apt-get install valgrind); fortio is built from the Go module proxy once.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build baseline_dir='' requests=5000
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --baseline) baseline_dir=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--baseline DIR] [--requests N]" >&2; exit 2 ;;
  esac
done
[[ $requests =~ ^[1-9][0-9]*$ ]] || { echo "instructions: --requests needs a positive number" >&2; exit 2; }
# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"
ensure_fortio
for tool in valgrind callgrind_control callgrind_annotate nginx; do
  command -v "$tool" >/dev/null || { echo "instructions: $tool not found (see the usage above)" >&2; exit 1; }
done
start_backend
write_weft_config

# count NAME BINARY: prints NAME's user-space instructions per request.
count() {
  local name=$1 binary=$2 pid port total
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$name.%p" "$binary" \
    "${weft_flags[@]}" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do grep -q '"weft-proxy started"' "$work/$name.log" && break; sleep 0.1; done
  port=$(outbound_port_of "$work/$name.log")
  "$fortio" load -quiet -c 4 -qps 0 -n 200 "http://127.0.0.1:$port/" >/dev/null 2>&1  # warm
  callgrind_control -z "$pid" >/dev/null 2>&1
  "$fortio" load -quiet -c 4 -qps 0 -n "$requests" "http://127.0.0.1:$port/" >"$work/$name.fortio" 2>&1
  grep -q "Code 200 : $requests " "$work/$name.fortio" ||
    { echo "instructions: $name did not answer 200 to every request:" >&2; cat "$work/$name.fortio" >&2; exit 1; }
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  total=$(callgrind_annotate "$(ls "$work"/callgrind."$name".*.1)" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
  echo "$name: $((total / requests)) instructions per request (callgrind, $requests requests)"
}

count weft-proxy "$build_dir/bin/weft-proxy"
if [[ -n $baseline_dir ]]; then count weft-baseline "$baseline_dir/bin/weft-proxy"; fi
