#!/usr/bin/env bash
# Where an HTTP/2 request's time goes in weft-proxy, against HAProxy:
# user-space instructions per request counted by callgrind (they do not move
# with the machine's noise, unlike the CPU time of bench/proxy/h2.sh), and
# weft-proxy's functions that cost the most (self cost, and inclusive cost of
# its own code). Each proxy runs under valgrind with one worker in front of
# nghttpd (as in h2.sh: h2c on both sides); its counters are zeroed after a
# warm-up, then h2load sends N requests over one connection with STREAMS
# concurrent streams; the instructions executed meanwhile are divided by N.
# With --syscalls, each proxy's system calls per request are counted by
# `strace -c -f` over the same load instead (without valgrind).
#
# weft-proxy runs with its image's environment (glibc's tunables, see
# images/weft-proxy.json), or without it with --bare. With --keep DIR,
# callgrind's profiles are copied to DIR (for callgrind_annotate); with
# --only NAME, only that proxy is measured.
#
# Usage: bench/proxy/instructions_h2.sh [--build-dir DIR] [--requests N] [--streams N] [--top N] [--syscalls]
#                                       [--keep DIR] [--only weft-proxy|haproxy] [--bare]
# Needs valgrind, h2load and nghttpd (nghttp2-client, nghttp2-server), haproxy.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build requests=20000 streams=100 top=25 syscalls=0 keep='' only='' bare=0
usage="usage: $0 [--build-dir DIR] [--requests N] [--streams N] [--top N] [--syscalls] [--keep DIR] [--only weft-proxy|haproxy] [--bare]"
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --syscalls) syscalls=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --bare) bare=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for value in "$requests" "$streams" "$top"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "instructions_h2: '$value' is not a positive whole number; $usage" >&2; exit 2; }
done
[[ -z $only || $only == weft-proxy || $only == haproxy ]] || { echo "$usage" >&2; exit 2; }
((streams <= 100)) || { echo "instructions_h2: at most 100 streams (HAProxy's limit per connection)" >&2; exit 2; }
tools=(h2load nghttpd haproxy valgrind callgrind_control callgrind_annotate)
((syscalls)) && tools=(h2load nghttpd haproxy strace)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "instructions_h2: $tool not found (see the usage above)" >&2; exit 1; }
done
# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"

mkdir -p "$work/www"
printf 'ok\n' >"$work/www/index.html"
backend_port=$(free_port)
nghttpd --no-tls --address 127.0.0.1 --max-concurrent-streams 1000 -d "$work/www" "$backend_port" \
  >"$work/nghttpd.log" 2>&1 &
pids+=($!)
wait_port "$backend_port"
write_weft_config
haproxy_port=$(free_port)
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend bench
  bind 127.0.0.1:$haproxy_port proto h2
  default_backend app
backend app
  server app1 127.0.0.1:$backend_port proto h2
CONF

# load PORT N: N requests over one connection, all answered 2xx.
load() {
  h2load -c 1 -m "$streams" -n "$2" "http://127.0.0.1:$1/" >"$work/h2load.txt" 2>&1 || true
  grep -q "$2 succeeded, 0 failed" "$work/h2load.txt" ||
    { echo "instructions_h2: not every request succeeded:" >&2; cat "$work/h2load.txt" >&2; exit 1; }
}

# allocations CALLGRIND_OUT: calls to malloc, calloc and realloc per request,
# and how many came through operator new (callgrind's call counts; its names
# are compressed as "(id) name" the first time, "(id)" after).
allocations() {
  awk -v n="$requests" '
    /^c?fn=\(/ {
      id = $0; sub(/^c?fn=/, "", id); name = id; sub(/\).*/, ")", id); sub(/^\([0-9]+\) ?/, "", name)
      if (name != "") names[id] = name
      if ($0 ~ /^cfn=/) callee = names[id]
      next
    }
    /^calls=/ && callee ~ /^(malloc|calloc|realloc|operator new\(unsigned long\))$/ {
      split($0, f, /[= ]/); count[callee] += f[2]
    }
    END {
      # (operator new calls malloc: its calls are among malloc'"'"'s)
      printf "%.1f calls of malloc, calloc or realloc (%.1f of them through operator new)\n",
        (count["malloc"] + count["calloc"] + count["realloc"]) / n, count["operator new(unsigned long)"] / n
    }' "$1"
}

# measure NAME: starts NAME under the wrapper ($1...), warms it, counts.
measure() {
  local name=$1 pid port
  shift
  [[ -z $only || $only == "$name" ]] || return 0
  if [[ $name == weft-proxy ]]; then
    ((bare)) && weft_env=()
    env "${weft_env[@]}" "$@" "$build_dir/bin/weft-proxy" "${weft_flags[@]}" >"$work/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do grep -q '"weft-proxy started"' "$work/$name.log" && break; sleep 0.1; done
    port=$(outbound_port_of "$work/$name.log")
  else
    "$@" haproxy -f "$work/haproxy.cfg" -db >"$work/$name.log" 2>&1 &
    pid=$!
    port=$haproxy_port
  fi
  pids+=("$pid")
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  load "$port" 1000  # warm: connections to the backend made, caches filled
  if ((syscalls)); then
    # strace counts from its attach (after the warm-up) to its detach.
    strace -c -f -p "$pid" -o "$work/strace.$name" &
    local tracer=$!
    sleep 1
    load "$port" "$requests"
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    echo "#### $name: system calls per request (strace -c -f, $requests requests, $streams streams)"
    echo
    awk -v n="$requests" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {printf "- %s: %.3f\n", $NF, $4 / n}' \
      "$work/strace.$name" | sort -t: -k2 -rn | head -8
    echo
  else
    callgrind_control -z "$pid" >/dev/null 2>&1
    load "$port" "$requests"
    callgrind_control -d "$pid" >/dev/null 2>&1
    local out total
    out=$(ls "$work"/callgrind."$name".*.1)
    [[ -z $keep ]] || { mkdir -p "$keep" && cp "$out" "$keep/callgrind.$name.out"; }
    total=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
    echo "#### $name: $((total / requests)) instructions per request (callgrind, $requests requests, $streams streams)"
    echo
    echo "Allocations per request: $(allocations "$out")"
    echo
    if [[ $name == weft-proxy ]]; then
      echo "Self cost, the $top first (instructions per request, share):"
      echo
      callgrind_annotate --threshold=100 "$out" 2>/dev/null |
        awk -v n="$requests" -v top="$top" -v total="$total" '
          /^-+$/ {sep++; next}
          sep >= 3 && $1 ~ /^[0-9,]+$/ && shown < top {
            v = $1; gsub(",", "", v); $1 = ""; $2 = $2; sub(/^ +/, "")
            printf "- %.0f (%.1f %%) %s\n", v / n, 100 * v / total, substr($0, 1, 160); shown++
          }'
      echo
      echo "Inclusive cost of weft-proxy's own functions, the $top first:"
      echo
      callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
        awk -v n="$requests" -v top="$top" -v total="$total" '
          /^-+$/ {sep++; next}
          sep >= 3 && $1 ~ /^[0-9,]+$/ && /weft::/ && shown < top {
            v = $1; gsub(",", "", v); $1 = ""; $2 = $2; sub(/^ +/, "")
            printf "- %.0f (%.1f %%) %s\n", v / n, 100 * v / total, substr($0, 1, 160); shown++
          }'
      echo
    fi
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

((bare)) || echo "weft-proxy's environment (its image's): ${weft_env[*]}"
echo
if ((syscalls)); then
  measure weft-proxy
  measure haproxy
else
  measure weft-proxy valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.weft-proxy.%p"
  measure haproxy valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.haproxy.%p"
fi
