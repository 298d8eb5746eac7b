#!/usr/bin/env bash
# Instructions per request of the two-proxy path, client proxy and server
# proxy each counted by callgrind, plaintext against mTLS:
#
#   fortio -> client proxy --(m)TLS--> server proxy -> nginx
#
# The certificates and documents are bench/proxy/mtls.sh's (an anchor, an
# issuer, a P-256 leaf per side, the chain sent being leaf + issuer). Each
# pair runs alone: both proxies under valgrind (one worker each), a warm-up,
# both counters zeroed, N requests by fortio on 4 connections as fast as they
# are answered, the user-space instructions of each proxy's worker thread
# divided by N.
#
#   plain      the endpoint not meshed, the hop between the proxies kept alive
#   mtls       meshed: TLS 1.3, client certificate, kept alive; the requests
#              carried as HTTP/2 streams between the proxies (the default)
#   mtls-h1    the same with HTTP/1.1 between the proxies
#              (--http1-upgrade-between-proxies=false on the client proxy)
#   mtls-new   meshed, a new connection (a full handshake) per request on the
#              hop between the proxies (--pool-max-idle-per-endpoint 0, and
#              HTTP/1.1 between the proxies: HTTP/2 keeps its connection)
#
# TLS's cost per kept-alive request is mtls-h1 - plain, per proxy (the same
# HTTP/1.1 hop); HTTP/2's, mtls - mtls-h1; a handshake's, mtls-new - mtls-h1. With --syscalls, the same runs count system calls
# instead: the proxies run natively, `strace -c` attached to every thread of
# each after the warm-up (callgrind sees only user space).
#
# Usage: bench/proxy/instructions_mtls.sh [--build-dir DIR] [--baseline DIR]
#          [--requests N] [--handshakes N] [--profiles DIR] [--syscalls]
# --baseline DIR: the same counts for DIR's weft-proxy, in the same run.
# --profiles DIR: keeps callgrind's files there (LABEL-PAIR-client|server.N.out,
#   one per worker thread)
#   for callgrind_annotate --inclusive=yes.
# Needs valgrind, nginx and python3-cryptography; fortio is built once.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build baseline_dir='' requests=3000 handshakes=200 profiles='' syscalls=0
usage="usage: $0 [--build-dir DIR] [--baseline DIR] [--requests N] [--handshakes N] [--profiles DIR] [--syscalls]"
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --baseline) baseline_dir=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --handshakes) handshakes=$2; shift 2 ;;
    --profiles) profiles=$2; shift 2 ;;
    --syscalls) syscalls=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for value in "$requests" "$handshakes"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "instructions_mtls: not a positive number: $value" >&2; exit 2; }
done
((requests <= 100000 && handshakes <= 5000)) ||
  { echo "instructions_mtls: at most 100000 requests and 5000 handshakes" >&2; exit 2; }
tools=(valgrind callgrind_control callgrind_annotate nginx)
((syscalls)) && tools=(strace nginx)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "instructions_mtls: $tool not found (see the usage above)" >&2; exit 1; }
done
# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"
ensure_fortio
start_backend
server_port=$(free_port)
write_mesh_files "$server_port"
export WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1
wait_port "$backend_port"

# start_counted NAME BINARY FLAGS...: one weft-proxy under callgrind (or
# natively with --syscalls); sets started_pid and started_port (its outbound
# port).
start_counted() {
  local name=$1 binary=$2 launcher=()
  shift 2
  ((syscalls)) ||
    launcher=(valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/callgrind.$name.%p")
  "${launcher[@]}" "$binary" \
    --listen-address 127.0.0.1 --outbound-port 0 --admin-port 0 --kube-watch off --workers 1 \
    "$@" >"$work/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 600); do grep -q '"weft-proxy started"' "$work/$name.log" && break; sleep 0.1; done
  grep -q '"weft-proxy started"' "$work/$name.log" ||
    { echo "instructions_mtls: $name did not start:" >&2; tail -5 "$work/$name.log" >&2; exit 1; }
  started_port=$(outbound_port_of "$work/$name.log")
}

# total_of NAME PID: sets total, the instructions the proxy's worker threads
# executed
# since the counters were zeroed (the other threads' work does not scale with
# requests: the identity client's timer, for one, runs per second of wall
# time, which valgrind stretches).
total_of() {
  local file worker_threads=0
  total=0
  for file in "$work"/callgrind."$1"."$2".1-*; do
    grep -q 'WorkerPool::start()::' "$file" || continue
    worker_threads=$((worker_threads + 1))
    if [[ -n $profiles ]]; then mkdir -p "$profiles" && cp "$file" "$profiles/$1.$worker_threads.out"; fi
    total=$((total + $(callgrind_annotate "$file" 2>/dev/null |
      sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)))
  done
  ((worker_threads > 0)) || { echo "instructions_mtls: $1: no worker thread in the profile" >&2; exit 1; }
}

# strace_start NAME PID: strace -c on every thread of PID; sets traced_pid.
strace_start() {
  local tids
  tids=$(ls "/proc/$2/task" | paste -sd,)
  strace -c -U calls,name -o "$work/strace.$1" -p "$tids" 2>/dev/null &
  traced_pid=$!
  pids+=("$traced_pid")
}

# strace_stop NAME PID: ends strace PID; sets total (its system calls) and
# breakdown (the ones a request makes, by name).
strace_stop() {
  kill -INT "$2"
  wait "$2" 2>/dev/null || true
  total=$(awk '$2 == "total" {print $1}' "$work/strace.$1")
  breakdown=$(awk -v n="$n" '$2 != "total" && $1 ~ /^[0-9]+$/ && $1 >= n / 2 {printf "%s%s %.2f", sep, $2, $1 / n; sep = ", "}' "$work/strace.$1")
}

# count LABEL BINARY PAIR N: sets counted_client and counted_server, each
# proxy's instructions per request over N requests.
count() {
  local label=$1 binary=$2 pair=$3 n=$4 server client document=plain
  local name=${1//\//_}  # for file names
  [[ $pair == mtls* ]] && document=mtls
  local flags=(--config "$work/client-$document-$server_port.json" --inbound-port 0
    --outbound-fallback 10.96.0.10:80 --test-credentials-dir "$work/client")
  [[ $pair == *-new ]] && flags+=(--pool-max-idle-per-endpoint 0)
  [[ $pair == *-new || $pair == *-h1 ]] && flags+=(--http1-upgrade-between-proxies=false)
  start_counted "$name-$pair-server" "$binary" --config "$work/server.json" \
    --inbound-port "$server_port" --inbound-fallback "127.0.0.1:$backend_port" \
    --test-credentials-dir "$work/server"
  server=$started_pid
  start_counted "$name-$pair-client" "$binary" "${flags[@]}"
  client=$started_pid
  "$fortio" load -quiet -timeout 60s -c 4 -qps 0 -n 100 "http://127.0.0.1:$started_port/" >/dev/null 2>&1 # warm
  local server_strace client_strace
  if ((syscalls)); then
    strace_start "$name-$pair-server" "$server"
    server_strace=$traced_pid
    strace_start "$name-$pair-client" "$client"
    client_strace=$traced_pid
    sleep 1  # attached
  else
    callgrind_control -z "$server" >/dev/null 2>&1
    callgrind_control -z "$client" >/dev/null 2>&1
  fi
  "$fortio" load -quiet -timeout 60s -c 4 -qps 0 -n "$n" "http://127.0.0.1:$started_port/" >"$work/fortio.txt" 2>&1
  grep -q "Code 200 : $n " "$work/fortio.txt" ||
    { echo "instructions_mtls: $label $pair did not answer 200 to every request:" >&2; cat "$work/fortio.txt" >&2; exit 1; }
  if ((syscalls)); then
    strace_stop "$name-$pair-server" "$server_strace"
    counted_server=$(python3 -c "print(f'{$total / $n:.2f}')") server_breakdown=$breakdown
    strace_stop "$name-$pair-client" "$client_strace"
    counted_client=$(python3 -c "print(f'{$total / $n:.2f}')") client_breakdown=$breakdown
  else
    callgrind_control -d "$server" >/dev/null 2>&1
    callgrind_control -d "$client" >/dev/null 2>&1
  fi
  # What reached the server proxy: all TLS on the meshed pairs, none on the plaintext one.
  local tls plain
  tls=$(inbound_connections "$work/$name-$pair-server.log" true)
  plain=$(inbound_connections "$work/$name-$pair-server.log" no_identity)
  local expected_tls=0 expected_plain=1
  [[ $document == mtls ]] && expected_tls=1 expected_plain=0
  if (((tls > 0) != expected_tls || (plain > 0) != expected_plain)); then
    echo "instructions_mtls: $label $pair: $tls TLS and $plain plaintext connections reached the server proxy" >&2
    exit 1
  fi
  kill "$client" "$server"
  wait "$client" "$server" 2>/dev/null || true
  ((syscalls)) && return
  total_of "$name-$pair-client" "$client"
  counted_client=$((total / n))
  total_of "$name-$pair-server" "$server"
  counted_server=$((total / n))
}

syscalls_of() {  # syscalls_of LABEL BINARY: system calls per request of each pair
  local label=$1 binary=$2 pair
  for pair in plain mtls mtls-h1 mtls-new; do
    local n=$requests
    [[ $pair == *-new ]] && n=$handshakes
    echo "[bench] $label: $pair pair, $n requests" >&2
    count "$label" "$binary" "$pair" "$n"
    echo "| $label | $pair | $counted_client ($client_breakdown) | $counted_server ($server_breakdown) |"
  done
}

measure() {  # measure LABEL BINARY: the four pairs, then mTLS's share
  local label=$1 binary=$2 plain_c plain_s mtls_c mtls_s h1_c h1_s new_c new_s
  [[ -x $binary ]] || { echo "instructions_mtls: no $binary" >&2; exit 1; }
  echo "[bench] $label: plaintext pair, $requests requests" >&2
  count "$label" "$binary" plain "$requests"
  plain_c=$counted_client plain_s=$counted_server
  echo "[bench] $label: mTLS pair, $requests requests" >&2
  count "$label" "$binary" mtls "$requests"
  mtls_c=$counted_client mtls_s=$counted_server
  echo "[bench] $label: mTLS pair with HTTP/1.1 between the proxies, $requests requests" >&2
  count "$label" "$binary" mtls-h1 "$requests"
  h1_c=$counted_client h1_s=$counted_server
  echo "[bench] $label: mTLS pair, a new connection per request, $handshakes requests" >&2
  count "$label" "$binary" mtls-new "$handshakes"
  new_c=$counted_client new_s=$counted_server
  cat <<ROWS
| $label | plaintext pair, kept alive | $plain_c / $plain_s |
| $label | mTLS pair, HTTP/1.1 between the proxies, kept alive | $h1_c / $h1_s |
| $label | → added by TLS per request | $((h1_c - plain_c)) / $((h1_s - plain_s)) |
| $label | mTLS pair, HTTP/2 between the proxies (the default), kept alive | $mtls_c / $mtls_s |
| $label | → added by HTTP/2 between the proxies per request | $((mtls_c - h1_c)) / $((mtls_s - h1_s)) |
| $label | mTLS pair, new connection per request ($handshakes requests) | $new_c / $new_s |
| $label | → per full handshake (minus kept alive) | $((new_c - h1_c)) / $((new_s - h1_s)) |
ROWS
}

if ((syscalls)); then
  cat <<HEAD
System calls per request, per proxy (strace -c on every thread, the proxies
native), $requests requests kept alive and $handshakes with a new connection
each, fortio -c 4 (\`bench/proxy/instructions_mtls.sh --syscalls --build-dir ${build_dir#"$repo"/}${baseline_dir:+ --baseline $baseline_dir} --requests $requests --handshakes $handshakes\`);
in brackets, each call made at least every other request.

| build | pair | client proxy | server proxy |
|---|---|---|---|
HEAD
  syscalls_of "${build_dir#"$repo"/}" "$build_dir/bin/weft-proxy"
  if [[ -n $baseline_dir ]]; then syscalls_of "$baseline_dir" "$baseline_dir/bin/weft-proxy"; fi
  exit 0
fi

cat <<HEAD
Instructions per request, per proxy (client / server), callgrind, user space;
$requests requests kept alive, fortio -c 4 (\`bench/proxy/instructions_mtls.sh --build-dir ${build_dir#"$repo"/}${baseline_dir:+ --baseline $baseline_dir} --requests $requests --handshakes $handshakes\`).

| build | path | client / server proxy |
|---|---|---|
HEAD
measure "${build_dir#"$repo"/}" "$build_dir/bin/weft-proxy"
if [[ -n $baseline_dir ]]; then measure "$baseline_dir" "$baseline_dir/bin/weft-proxy"; fi
