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
# apt-get install valgrind) and fortio (built by bench/proxy/run.sh).
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
fortio=${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin/fortio
for tool in valgrind callgrind_control callgrind_annotate nginx "$fortio"; do
  command -v "$tool" >/dev/null || { echo "instructions: $tool not found (see the usage above)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-instructions.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

backend_port=$(free_port)
mkdir -p "$work/backend"
cat >"$work/backend/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/backend/nginx.pid;
error_log $work/backend/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$backend_port; location / { return 200 "ok\n"; } }
}
CONF
nginx -c "$work/backend/nginx.conf" -p "$work/backend" &
pids+=($!)
HARNESS_DIR=$repo/test/integration/proxy python3 - "$work/config.json" "$backend_port" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
from harness import document, service
with open(sys.argv[1], "w") as f:
    f.write(document([service("web", "10.96.0.10", 80, [("127.0.0.1", int(sys.argv[2]))])],
                     "bench"))
PY

# count NAME BINARY: prints NAME's user-space instructions per request.
count() {
  local name=$1 binary=$2 pid port total
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$name.%p" "$binary" \
    --config "$work/config.json" --listen-address 127.0.0.1 --outbound-port 0 \
    --inbound-port 0 --admin-port 0 --kube-watch off --workers 1 \
    --outbound-fallback 10.96.0.10:80 >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do grep -q '"weft-proxy started"' "$work/$name.log" && break; sleep 0.1; done
  port=$(grep '"weft-proxy started"' "$work/$name.log" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["outbound_port"])')
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
