#!/usr/bin/env bash
# Two proxies in a row, weft-proxy against HAProxy, side by side in one run on
# this machine, everything on 127.0.0.1:
#
#   load -> client proxy --(m)TLS--> server proxy -> nginx backend
#
#   weft-plain    two weft-proxy processes, the endpoint not meshed: plaintext
#   weft-mtls     the same with the endpoint meshed: TLS 1.3, both certificates
#                 checked against the anchor, the server's SPIFFE ID matched;
#                 the HTTP/1.1 requests carried as HTTP/2 streams on one mTLS
#                 connection between the proxies (the default)
#   weft-mtls-h1  the same with --http1-upgrade-between-proxies=false on the
#                 client proxy: HTTP/1.1 over mTLS, one connection per request
#                 in flight, like weft-plain but for TLS (so weft-mtls-h1 minus
#                 weft-plain is what TLS alone costs)
#   haproxy-plain two HAProxy instances, plaintext between them
#   haproxy-tls   the same with TLS 1.3 between them, client certificates,
#                 verified both ways against the same anchor
#
# Equal footing: one worker thread per proxy (weft-proxy --workers 1, HAProxy
# nbthread 1), the same ECDSA P-256 certificates (one test CA, leaves with a
# SPIFFE URI SAN, made by test/integration/proxy/mtls_test.py), the same
# backend (nginx, one worker), HTTP/1.1 kept alive on every hop.
#
# Each pair also runs with a new connection per request on the hop between its
# two proxies (the load still keeps its connections to the client proxy):
# weft-proxy --pool-max-idle-per-endpoint 0 and HTTP/1.1 between the
# proxies (--http1-upgrade-between-proxies=false: HTTP/2 keeps its one
# connection whatever the HTTP/1 pool does) on the client proxy, HAProxy
# "http-reuse never" + "option http-server-close" on instance A. Every such
# connection is a full TLS 1.3 handshake: tickets are off in weft-proxy by
# design (docs/identity.md) and in HAProxy here (no-tls-tickets, no cache).
#
# Measured, interleaved over --repeat rounds, medians reported:
#   - maximum throughput: wrk, 1 thread, 50 connections, kept alive;
#   - p50/p99 at a constant --rate (fortio, 16 connections; 300/s by
#     default, so that the new-connection runs, a few ms of CPU each, do not
#     saturate 2 cores);
#   - CPU per request of the two proxies together at that rate: their
#     threads' on-CPU time (/proc/PID/task/*/schedstat, nanoseconds; the
#     user+system ticks of /proc/PID/stat are 10 ms and too coarse for a few
#     µs) after minus before, divided by the requests answered. CPU time is
#     what a request costs whatever else runs on the machine; throughput is not.
# Derived: mTLS cost per request kept alive (weft-mtls-h1 - weft-plain: the
# same HTTP/1.1 hop with and without TLS; and weft-mtls - weft-plain, HTTP/2
# between the proxies included) and per handshake ((mTLS new connection -
# weft-mtls-h1) per request).
#
# Usage: bench/proxy/mtls.sh [--build-dir DIR] [--duration SECONDS] [--rate N] [--repeat N]
# Prints a Markdown report (bench/RESULTS.md, "Two proxies and mTLS").
# Needs scripts/install-deps (wrk, haproxy, nginx-light, python3-cryptography) and Go for fortio.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build
duration=10
rate=300
repeat=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--duration SECONDS] [--rate N] [--repeat N]" >&2; exit 2 ;;
  esac
done
for value in "$duration" "$rate" "$repeat"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "not a positive integer: $value" >&2; exit 2; }
done
((duration <= 60)) || { echo "--duration is at most 60 seconds" >&2; exit 2; }
proxy_binary=$build_dir/bin/weft-proxy
[[ -x $proxy_binary ]] || { echo "no $proxy_binary: build the release preset first" >&2; exit 1; }
for tool in wrk haproxy nginx; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/install-deps" >&2; exit 1; }
done

# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"
ensure_fortio
start_backend

# Certificates (one anchor, a server and a client leaf) and the documents:
# the server proxy's (identity on, no outbound service) and the client
# proxies' (Service 10.96.0.10:80 -> the server proxy, meshed or not).
declare -A server_inbound
for pair in plain mtls mtls-h1 plain-new mtls-new; do server_inbound[$pair]=$(free_port); done
write_mesh_files "${server_inbound[@]}"
export WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1

# start_weft NAME FLAGS...: one weft-proxy, one worker; sets started_pid, started_port.
start_weft() {
  local name=$1
  shift
  "$proxy_binary" --listen-address 127.0.0.1 --outbound-port 0 --admin-port 0 \
    --kube-watch off --workers 1 "$@" >"$work/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 100); do grep -q '"weft-proxy started"' "$work/$name.log" && break; sleep 0.05; done
  started_port=$(outbound_port_of "$work/$name.log")
}
declare -A port client_pid server_pid
for pair in plain mtls mtls-h1 plain-new mtls-new; do
  start_weft "weft-$pair-server" --config "$work/server.json" \
    --inbound-port "${server_inbound[$pair]}" --inbound-fallback "127.0.0.1:$backend_port" \
    --test-credentials-dir "$work/server"
  server=$started_pid
  document=${pair%-new}
  client_flags=(--config "$work/client-${document%-h1}-${server_inbound[$pair]}.json"
    --inbound-port 0 --outbound-fallback 10.96.0.10:80 --test-credentials-dir "$work/client")
  [[ $pair == *-new ]] && client_flags+=(--pool-max-idle-per-endpoint 0)
  [[ $pair == *-new || $pair == *-h1 ]] && client_flags+=(--http1-upgrade-between-proxies=false)
  start_weft "weft-$pair-client" "${client_flags[@]}"
  port[weft-$pair]=$started_port
  client_pid[weft-$pair]=$started_pid
  server_pid[weft-$pair]=$server
done

# HAProxy A (client side) -> HAProxy B (server side), nbthread 1 each.
# The key exchange as weft-proxy's: X25519, then P-256. HAProxy 2.6 has no
# "curves" for a server line: OpenSSL's configuration sets A's groups.
cat >"$work/openssl-groups.cnf" <<'CONF'
openssl_conf = weft_bench
[weft_bench]
ssl_conf = weft_bench_ssl
[weft_bench_ssl]
system_default = weft_bench_groups
[weft_bench_groups]
Groups = X25519:P-256
CONF
# haproxy_pair NAME TLS(0|1) NEW_CONNECTIONS(0|1) [RESUME(0|1)]
# RESUME: TLS 1.3 session resumption on (tickets, A reusing sessions), to see
# what a resumed handshake would save; weft-proxy has none by design.
haproxy_pair() {
  local name=$1 tls=$2 new=$3 resume=${4:-0} a_port b_port bind_tls='' server_tls=''
  local reuse='http-reuse always' no_resume='no-ssl-reuse no-tls-tickets' cache='tune.ssl.cachesize 0'
  ((resume)) && no_resume='' cache=''
  a_port=$(free_port) b_port=$(free_port)
  if ((tls)); then
    # TLS 1.3 only, X25519 for the key exchange (as weft-proxy), client
    # certificate required, both sides verified against the anchor.
    bind_tls="ssl crt $work/server.haproxy.pem ca-file $work/anchor.pem verify required ssl-min-ver TLSv1.3 curves X25519:P-256 ${no_resume#no-ssl-reuse }"
    server_tls="ssl crt $work/client.haproxy.pem ca-file $work/anchor.pem verify required ssl-min-ver TLSv1.3 $no_resume"
  fi
  ((new)) && reuse=$'http-reuse never\n  option http-server-close'
  cat >"$work/$name-b.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
  $cache
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend b
  bind 127.0.0.1:$b_port $bind_tls
  default_backend app
backend app
  server app1 127.0.0.1:$backend_port
CONF
  cat >"$work/$name-a.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend a
  bind 127.0.0.1:$a_port
  default_backend b
backend b
  $reuse
  server b1 127.0.0.1:$b_port $server_tls
CONF
  OPENSSL_CONF=$work/openssl-groups.cnf haproxy -f "$work/$name-b.cfg" -db >"$work/$name-b.log" 2>&1 &
  local b_pid=$!
  OPENSSL_CONF=$work/openssl-groups.cnf haproxy -f "$work/$name-a.cfg" -db >"$work/$name-a.log" 2>&1 &
  pids+=("$b_pid" "$!")
  port[$name]=$a_port
  client_pid[$name]=$!
  server_pid[$name]=$b_pid
}
haproxy_pair haproxy-plain 0 0
haproxy_pair haproxy-tls 1 0
haproxy_pair haproxy-plain-new 0 1
haproxy_pair haproxy-tls-new 1 1
haproxy_pair haproxy-tls-resumed-new 1 1 1

for target in "${!port[@]}"; do wait_port "${port[$target]}"; done
wait_port "$backend_port"
sleep 1
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

kept_alive=(weft-plain weft-mtls weft-mtls-h1 haproxy-plain haproxy-tls)
new_connections=(weft-plain-new weft-mtls-new haproxy-plain-new haproxy-tls-new haproxy-tls-resumed-new)
# Every path answers through both proxies (and mTLS really is TLS: checked
# below on the server proxy's connection counters).
for target in "${kept_alive[@]}" "${new_connections[@]}"; do
  answer=$(curl -sS --max-time 5 "http://127.0.0.1:${port[$target]}/") ||
    { echo "$target does not answer" >&2; tail -5 "$work"/*.log >&2; exit 1; }
  [[ $answer == ok ]] || { echo "$target answered '$answer'" >&2; exit 1; }
done

cpu_ns() {  # on-CPU nanoseconds of every thread of process $1
  awk '{s += $1} END {printf "%.0f", s}' "/proc/$1"/task/*/schedstat
}
fortio_summary() {  # fortio_summary JSON -> "p50 p99 answered" (ms)
  python3 - "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
p = {round(x["Percentile"], 1): x["Value"] * 1000 for x in data["DurationHistogram"]["Percentiles"]}
ok = data["RetCodes"].get("200", 0)
if ok != sum(data["RetCodes"].values()):
    sys.exit(f"non-200 answers: {data['RetCodes']}")
print(f"{p[50.0]:.3f} {p[99.0]:.3f} {ok}")
PY
}
# The pairs swap order every other round, so that neither always follows
# the same neighbour.
round_order() {  # round_order N TARGETS... -> the targets, one per line
  local round=$1
  shift
  if ((round % 2)); then printf '%s\n' "$@"; else printf '%s\n' "$@" | tac; fi
}

declare -A all_rps all_p50 all_p99 all_client all_server all_cpu
handshake_requests=1  # the first check's
for round in $(seq "$repeat"); do
  for target in $(round_order "$round" "${kept_alive[@]}"); do
    echo "[bench] $target: wrk, round $round" >&2
    wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:${port[$target]}/" >"$work/wrk.txt"
    grep -q "Non-2xx\|Socket errors" "$work/wrk.txt" && { echo "$target: errors" >&2; cat "$work/wrk.txt" >&2; exit 1; }
    all_rps[$target]+=" $(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.txt")"
  done
  for target in $(round_order "$round" "${kept_alive[@]}" "${new_connections[@]}"); do
    echo "[bench] $target: fortio at $rate/s, round $round" >&2
    client_before=$(cpu_ns "${client_pid[$target]}") server_before=$(cpu_ns "${server_pid[$target]}")
    "$fortio" load -quiet -qps "$rate" -c 16 -t "${duration}s" -r 0.00001 -p "50,99" \
      -json "$work/fortio.json" "http://127.0.0.1:${port[$target]}/" >/dev/null 2>&1
    client_ns=$(($(cpu_ns "${client_pid[$target]}") - client_before))
    server_ns=$(($(cpu_ns "${server_pid[$target]}") - server_before))
    read -r p50 p99 answered < <(fortio_summary "$work/fortio.json")
    all_p50[$target]+=" $p50" all_p99[$target]+=" $p99"
    [[ $target == weft-mtls-new ]] && handshake_requests=$((handshake_requests + answered))
    all_client[$target]+=" $(python3 -c "print(f'{$client_ns / 1e3 / $answered:.1f}')")"
    all_server[$target]+=" $(python3 -c "print(f'{$server_ns / 1e3 / $answered:.1f}')")"
    all_cpu[$target]+=" $(python3 -c "print(f'{($client_ns + $server_ns) / 1e3 / $answered:.1f}')")"
    echo "[bench]   $answered answered, p99 $p99 ms, CPU ${all_cpu[$target]##* } µs/request" >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The server proxies' inbound connections by TLS or not: the mTLS pairs'
# must all be TLS, and the new-connection pairs' about one per request.
for pair in mtls mtls-h1 mtls-new; do
  if (($(inbound_connections "$work/weft-$pair-server.log" no_identity) != 0)); then
    echo "weft-$pair: plaintext connections reached the server proxy" >&2
    exit 1
  fi
done
handshakes=$(inbound_connections "$work/weft-mtls-new-server.log" true)
# A new connection per request really was one: else the handshake figure
# below would divide a few handshakes among thousands of requests.
if ((handshakes * 2 < handshake_requests)); then
  echo "weft-mtls-new: $handshakes handshakes for $handshake_requests requests: connections were reused" >&2
  exit 1
fi

declare -A rps p50 p99 cpu client server
for target in "${kept_alive[@]}" "${new_connections[@]}"; do
  [[ -n ${all_rps[$target]:-} ]] && rps[$target]=$(median <<<"${all_rps[$target]}")
  p50[$target]=$(median <<<"${all_p50[$target]}")
  p99[$target]=$(median <<<"${all_p99[$target]}")
  cpu[$target]=$(median <<<"${all_cpu[$target]}")
  client[$target]=$(median <<<"${all_client[$target]}")
  server[$target]=$(median <<<"${all_server[$target]}")
done
calc() { python3 -c "print(f'{$1:.${2:-1}f}')"; }
round_ratios() {  # round_ratios A B: A's wrk result over B's, round by round
  python3 -c "import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); print(', '.join(f'{float(x) / float(y):.2f}' for x, y in zip(a, b)))" \
    "${all_rps[$1]}" "${all_rps[$2]}"
}
cat <<REPORT
### Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))

Command: \`bench/proxy/mtls.sh --build-dir ${build_dir#"$repo"/} --duration $duration --rate $rate --repeat $repeat\`
Load average before the run: $load_before; after: $load_after.

Medians of $repeat interleaved rounds (every round in brackets). CPU: both
proxies of the pair together, on-CPU time per request at $rate requests/s.

| path | hop between the proxies | wrk max req/s | p50 / p99 ms at $rate/s | CPU µs per request, both proxies | client proxy / server proxy |
|---|---|---|---|---|---|
REPORT
for target in "${kept_alive[@]}" "${new_connections[@]}"; do
  hop="kept alive"
  [[ $target == *-new ]] && hop="new connection per request"
  rps_cell=-
  [[ -n ${rps[$target]:-} ]] && rps_cell="${rps[$target]} (${all_rps[$target]# })"
  echo "| ${target%-new} | $hop | $rps_cell | ${p50[$target]} / ${p99[$target]} (${all_p99[$target]# }) | ${cpu[$target]} (${all_cpu[$target]# }) | ${client[$target]} / ${server[$target]} |"
done
cat <<REPORT

- Throughput, mTLS pairs, weft-proxy / HAProxy: **$(calc "${rps[weft-mtls]} / ${rps[haproxy-tls]}" 2)** with HTTP/2 between weft's proxies (the default), **$(calc "${rps[weft-mtls-h1]} / ${rps[haproxy-tls]}" 2)** with HTTP/1.1 (target ≥ 1.0); plaintext pairs: $(calc "${rps[weft-plain]} / ${rps[haproxy-plain]}" 2). Round by round (both pairs measured at about the same moment): mTLS $(round_ratios weft-mtls haproxy-tls) (HTTP/1.1: $(round_ratios weft-mtls-h1 haproxy-tls)), plaintext $(round_ratios weft-plain haproxy-plain).
- CPU that mTLS adds per request on a kept-alive connection (both proxies; target ≤ 5 µs): weft-proxy **$(calc "${cpu[weft-mtls]} - ${cpu[weft-plain]}") µs** with HTTP/2 between the proxies (the default, the translation included), $(calc "${cpu[weft-mtls-h1]} - ${cpu[weft-plain]}") µs on the same HTTP/1.1 hop (TLS alone), HAProxy $(calc "${cpu[haproxy-tls]} - ${cpu[haproxy-plain]}") µs.
- CPU per full handshake (new connection minus kept alive, mTLS over HTTP/1.1), client proxy / server proxy: weft-proxy **$(calc "${client[weft-mtls-new]} - ${client[weft-mtls-h1]}") / $(calc "${server[weft-mtls-new]} - ${server[weft-mtls-h1]}") µs** (target ≤ 1,000 µs of proxy CPU), HAProxy $(calc "${client[haproxy-tls-new]} - ${client[haproxy-tls]}") / $(calc "${server[haproxy-tls-new]} - ${server[haproxy-tls]}") µs. The TLS part alone (mTLS minus plaintext, both new connections), both proxies: weft-proxy $(calc "${cpu[weft-mtls-new]} - ${cpu[weft-plain-new]}") µs, HAProxy $(calc "${cpu[haproxy-tls-new]} - ${cpu[haproxy-plain-new]}") µs.
- What TLS 1.3 session resumption would save (HAProxy's pair resuming, against its full handshakes), both proxies: $(calc "${cpu[haproxy-tls-new]} - ${cpu[haproxy-tls-resumed-new]}") µs per new connection.
- Handshakes the weft-proxy server counted in the new-connection runs: $handshakes for $handshake_requests requests answered (the client proxy's pool kept no idle connection).
REPORT
