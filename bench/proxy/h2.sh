#!/usr/bin/env bash
# HTTP/2 and gRPC: weft-proxy against the direct path, HAProxy and nginx,
# side by side in one run on this machine, everything on 127.0.0.1, the
# client speaking cleartext HTTP/2 with prior knowledge (h2c, what gRPC
# clients send) and every proxy speaking HTTP/2 to the backend:
#   - maximum requests/s over one connection with 1 stream at a time and
#     with 100 concurrent streams: h2load, $DURATION seconds, against nghttpd
#     (one worker) answering GET / with "ok"; and each proxy's CPU time per
#     request (user + system, from /proc) in the 100-stream runs;
#   - gRPC unary calls/s over one connection (ghz, 50 calls in flight,
#     $DURATION seconds), and p50/p99 at a fixed $RATE calls/s (ghz, 16 in
#     flight), against weft-grpc-sample serve (weft.sample.v1.Echo/Echo);
#     the added p99 is each proxy's p99 minus the direct path's, same round;
#   - each proxy's memory (VmRSS) fresh and with 10,000 idle streams open:
#     100 connections x 100 streams (bench/proxy/h2_idle_streams.py, POSTs
#     whose body never comes, so nghttpd holds every stream open too).
# Equivalent setups: one worker each (weft-proxy --workers 1, HAProxy
# nbthread 1, nginx worker_processes 1); HAProxy `proto h2` on the bind and
# the server line; nginx `listen ... http2` and `grpc_pass` (its only HTTP/2
# upstream: one stream per upstream connection, kept alive, no multiplexing);
# weft-proxy routes through a configuration document (Service -> endpoint,
# default balancer), as in a pod, and multiplexes streams upstream; it runs
# with its image's environment (images/weft-proxy.json: glibc's tunables).
#
# Usage: bench/proxy/h2.sh [--build-dir DIR] [--duration SECONDS] [--repeat N]
#                          [--rate CALLS_PER_SECOND] [--idle-connections N] [--idle-streams N]
# Each round runs every measurement for every target, the targets
# interleaved and their order rotated each round; medians of N rounds
# (default 3) are reported, with every round's figure in brackets. With the
# defaults (5 s, 3 rounds) it takes about 5 minutes.
# Prints a Markdown report (paste it into bench/RESULTS.md, "HTTP/2 and gRPC").
# Needs nghttp2-client and nghttp2-server (h2load, nghttpd), haproxy, nginx,
# python3-h2 for /usr/bin/python3, ghz (scripts/build-go-tools) and the
# weft-proxy and weft-grpc-sample targets built in DIR.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build duration=5 repeat=3 rate=1000 idle_connections=100 idle_streams=100
usage="usage: $0 [--build-dir DIR] [--duration SECONDS] [--repeat N] [--rate CALLS_PER_SECOND] [--idle-connections N] [--idle-streams N]"
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --idle-connections) idle_connections=$2; shift 2 ;;
    --idle-streams) idle_streams=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for value in "$duration" "$repeat" "$rate" "$idle_connections" "$idle_streams"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "h2.sh: '$value' is not a positive whole number; $usage" >&2; exit 2; }
done
((idle_connections <= 1000 && idle_streams <= 100)) ||
  { echo "h2.sh: at most 1000 idle connections of 100 streams (HAProxy's stream limit per connection)" >&2; exit 2; }

proxy_binary=$build_dir/bin/weft-proxy
grpc_sample=$build_dir/bin/weft-grpc-sample
for binary in "$proxy_binary" "$grpc_sample"; do
  [[ -x $binary ]] || { echo "no $binary: cmake --build $build_dir --target weft-proxy weft-grpc-sample" >&2; exit 1; }
done
for tool in h2load nghttpd haproxy nginx ss; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install nghttp2-client nghttp2-server haproxy nginx-light iproute2" >&2; exit 1; }
done
ghz=$("$repo/scripts/build-go-tools" --bin-dir)/ghz
[[ -x $ghz ]] || { echo "no $ghz: run scripts/build-go-tools" >&2; exit 1; }
/usr/bin/python3 -c 'import h2' 2>/dev/null || { echo "python3-h2 missing: apt-get install python3-h2" >&2; exit 1; }
nginx -V 2>&1 | grep -q -- --with-http_v2_module || { echo "this nginx has no http2 module" >&2; exit 1; }

# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# The backends: nghttpd (h2c, one worker; up to 1,000 streams per connection
# so that the idle streams need few upstream connections) and the gRPC sample.
mkdir -p "$work/www"
printf 'ok\n' >"$work/www/index.html"
h2_backend_port=$(free_port)
nghttpd --no-tls --address 127.0.0.1 --max-concurrent-streams 1000 -d "$work/www" "$h2_backend_port" \
  >"$work/nghttpd.log" 2>&1 &
pids+=($!)
grpc_backend_port=$(free_port)
"$grpc_sample" serve --address 127.0.0.1 --port "$grpc_backend_port" --log-level warn \
  --pod-name bench >"$work/grpc-sample.log" 2>&1 &
pids+=($!)
wait_port "$h2_backend_port"
wait_port "$grpc_backend_port"

# port[SET/TARGET]: where TARGET (weft-proxy, haproxy, nginx) of a proxy set
# listens; proc[SET/TARGET]: its processes (nginx: master and worker);
# main_pid[SET/TARGET]: the process to stop. A set's proxies all forward to
# one backend.
declare -A port proc main_pid
proxies=(weft-proxy haproxy nginx)

# start_proxies SET BACKEND_PORT: the three proxies in front of the backend.
start_proxies() {
  local set=$1 backend=$2 listen pid
  # weft-proxy: one worker, its own document.
  write_weft_document "$work/weft-$set.json" "$backend"
  env "${weft_env[@]}" "$proxy_binary" "${weft_flags[@]/#$work\/config.json/$work/weft-$set.json}" \
    >"$work/weft-$set.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  main_pid[$set/weft-proxy]=$pid proc[$set/weft-proxy]=$pid
  for _ in $(seq 100); do grep -q '"weft-proxy started"' "$work/weft-$set.log" && break; sleep 0.05; done
  port[$set/weft-proxy]=$(outbound_port_of "$work/weft-$set.log")

  # HAProxy: one thread, h2c on both sides, backend connections reused.
  listen=$(free_port)
  cat >"$work/haproxy-$set.cfg" <<CONF
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
  bind 127.0.0.1:$listen proto h2
  default_backend app
backend app
  server app1 127.0.0.1:$backend proto h2
CONF
  haproxy -f "$work/haproxy-$set.cfg" -db >"$work/haproxy-$set.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  main_pid[$set/haproxy]=$pid proc[$set/haproxy]=$pid port[$set/haproxy]=$listen

  # nginx: one worker, h2c listener, grpc_pass with kept-alive upstream
  # connections; enough connections for one upstream connection per idle stream.
  listen=$(free_port)
  mkdir -p "$work/nginx-$set"
  cat >"$work/nginx-$set/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 19000;
daemon off;
pid $work/nginx-$set/nginx.pid;
error_log $work/nginx-$set/error.log;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$backend; keepalive 128; }
  server { listen 127.0.0.1:$listen http2; location / { grpc_pass grpc://app; } }
}
CONF
  nginx -c "$work/nginx-$set/nginx.conf" -p "$work/nginx-$set" &
  pid=$!
  pids+=("$pid")
  main_pid[$set/nginx]=$pid port[$set/nginx]=$listen
  wait_port "${port[$set/haproxy]}"
  wait_port "$listen"
  wait_port "${port[$set/weft-proxy]}"
  for _ in $(seq 100); do pgrep -P "$pid" >/dev/null && break; sleep 0.05; done
  proc[$set/nginx]="$pid $(pgrep -P "$pid" | xargs)"
}

# stop_proxies SET
stop_proxies() {
  local target
  for target in "${proxies[@]}"; do kill "${main_pid[$1/$target]}"; done
  for target in "${proxies[@]}"; do wait "${main_pid[$1/$target]}" 2>/dev/null || true; done
}

clock_ticks=$(getconf CLK_TCK)
cpu_ticks() {  # user + system ticks of the processes listed in $1
  local total=0 pid pid_list
  read -ra pid_list <<<"$1"
  for pid in "${pid_list[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the command's ")".
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
rss_kb() {  # VmRSS of the processes listed in $1, summed
  local total=0 pid pid_list
  read -ra pid_list <<<"$1"
  for pid in "${pid_list[@]}"; do total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"))); done
  echo "$total"
}

# h2load_run PORT STREAMS -> "requests/s requests": one connection, STREAMS
# concurrent streams, $duration seconds; every answer must be a 2xx.
h2load_run() {
  h2load -c 1 -m "$2" -D "$duration" "http://127.0.0.1:$1/" >"$work/h2load.txt" 2>&1 || true
  python3 - "$work/h2load.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
requests = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
codes = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
# (the 2xx count may include a stream cut off by the end of the run: not compared)
if not (requests and codes and rate) or int(requests[4]) or any(map(int, codes.groups())) or not int(requests[3]):
    sys.exit("h2load: failures or non-2xx answers:\n" + text)
print(f"{float(rate[1]):.0f} {requests[3]}")
PY
}

ghz_common=(--insecure --proto "$repo/samples/grpc/proto/echo.proto" --call weft.sample.v1.Echo.Echo
  -d '{"message":"hello"}' --connections 1 --format json)
# ghz_summary JSON MAX_CUT -> "OK calls/s p50_ms p99_ms". MAX_CUT: how many
# calls may fail as cut off by the end of a timed run (ghz closes the
# connection with calls in flight: "use of closed network connection");
# any other failure ends the benchmark.
ghz_summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
codes = data.get("statusCodeDistribution", {})
errors = data.get("errorDistribution") or {}
cut = sum(n for message, n in errors.items()
          if "closed network connection" in message or "connection is closing" in message)
ok = codes.get("OK", 0)
if ok == 0 or sum(codes.values()) - ok != cut or cut > int(sys.argv[2]):
    sys.exit(f"ghz: failed calls: {codes} {errors}")
p = {x["percentage"]: x["latency"] / 1e6 for x in data["latencyDistribution"]}
print(f"{ok / (data['total'] / 1e9):.0f} {p[50]:.3f} {p[99]:.3f}")
PY
}

targets=(direct weft-proxy haproxy nginx)
round_order() {  # round_order N -> the targets, rotated by N, one per line
  local i
  for i in "${!targets[@]}"; do echo "${targets[$(((i + $1) % ${#targets[@]}))]}"; done
}

start_proxies h2 "$h2_backend_port"
start_proxies grpc "$grpc_backend_port"
port[h2/direct]=$h2_backend_port port[grpc/direct]=$grpc_backend_port
sleep 1

declare -A all_m1 all_m100 all_cpu all_grpc all_p50 all_p99 all_added
for round in $(seq "$repeat"); do
  echo "[bench] round $round of $repeat (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
  for streams in 1 100; do
    for target in $(round_order "$round"); do
      [[ -n ${proc[h2/$target]:-} ]] && ticks_before=$(cpu_ticks "${proc[h2/$target]}")
      result=$(h2load_run "${port[h2/$target]}" "$streams")
      read -r rps done_requests <<<"$result"
      if ((streams == 1)); then
        all_m1[$target]+=" $rps"
      else
        all_m100[$target]+=" $rps"
        if [[ -n ${proc[h2/$target]:-} ]]; then
          ticks=$(($(cpu_ticks "${proc[h2/$target]}") - ticks_before))
          all_cpu[$target]+=" $(python3 -c "print(f'{$ticks / $clock_ticks * 1e6 / $done_requests:.2f}')")"
        fi
      fi
      echo "[bench]   $target: h2load, $streams stream(s): $rps req/s" >&2
    done
  done
  for target in $(round_order "$round"); do
    "$ghz" "${ghz_common[@]}" -c 50 -z "${duration}s" "127.0.0.1:${port[grpc/$target]}" >"$work/ghz.json" 2>"$work/ghz.err" || true
    result=$(ghz_summary "$work/ghz.json" 50)
    read -r calls _ _ <<<"$result"
    all_grpc[$target]+=" $calls"
    echo "[bench]   $target: ghz, 50 in flight: $calls calls/s" >&2
  done
  declare -A p99_this_round=()
  for target in $(round_order "$round"); do
    "$ghz" "${ghz_common[@]}" -c 16 --rps "$rate" -n $((rate * duration)) "127.0.0.1:${port[grpc/$target]}" \
      >"$work/ghz.json" 2>"$work/ghz.err" || true
    result=$(ghz_summary "$work/ghz.json" 0)
    read -r calls p50 p99 <<<"$result"
    all_p50[$target]+=" $p50" all_p99[$target]+=" $p99"
    p99_this_round[$target]=$p99
    echo "[bench]   $target: ghz at $rate/s: $calls calls/s, p50 $p50 ms, p99 $p99 ms" >&2
  done
  for target in "${proxies[@]}"; do
    all_added[$target]+=" $(python3 -c "print(f'{${p99_this_round[$target]} - ${p99_this_round[direct]}:.3f}')")"
  done
done
load_after_load=$(cut -d' ' -f1-3 /proc/loadavg)
stop_proxies h2
stop_proxies grpc

# Idle streams: a fresh set of proxies in front of nghttpd, one at a time.
idle_total=$((idle_connections * idle_streams))
declare -A rss_fresh rss_idle upstream_connections held
start_proxies idle "$h2_backend_port"
sleep 1
for target in "${proxies[@]}"; do
  rss_fresh[$target]=$(rss_kb "${proc[idle/$target]}")
  : >"$work/idle-$target.out"
  /usr/bin/python3 "$repo/bench/proxy/h2_idle_streams.py" --port "${port[idle/$target]}" \
    --connections "$idle_connections" --streams "$idle_streams" --settle 3 --hold 120 >"$work/idle-$target.out" 2>&1 &
  client=$!
  pids+=("$client")
  for _ in $(seq 600); do grep -q '^held' "$work/idle-$target.out" && break; sleep 0.1; done
  grep -q '^held' "$work/idle-$target.out" || { echo "idle client through $target:" >&2; cat "$work/idle-$target.out" >&2; exit 1; }
  rss_idle[$target]=$(rss_kb "${proc[idle/$target]}")
  pid_pattern=$(tr ' ' '\n' <<<"${proc[idle/$target]}" | sed 's/.*/pid=&,/' | paste -sd'|')
  upstream_connections[$target]=$(ss -tnpH state established "( dport = :$h2_backend_port )" | grep -cE "$pid_pattern" || true)
  kill "$client"
  wait "$client" 2>/dev/null || true
  held[$target]=$(tail -1 "$work/idle-$target.out")
  python3 -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(c["streams_reset"] or c["connections_ended"] or c["responses"])' \
    "${held[$target]}" || { echo "$target did not hold every stream: ${held[$target]}" >&2; exit 1; }
  echo "[bench]   $target: RSS ${rss_fresh[$target]} kB fresh, ${rss_idle[$target]} kB with $idle_total idle streams" >&2
done
stop_proxies idle
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A m1 m100 cpu grpc p50 p99 added
for target in "${targets[@]}"; do
  m1[$target]=$(median <<<"${all_m1[$target]}")
  m100[$target]=$(median <<<"${all_m100[$target]}")
  grpc[$target]=$(median <<<"${all_grpc[$target]}")
  p50[$target]=$(median <<<"${all_p50[$target]}")
  p99[$target]=$(median <<<"${all_p99[$target]}")
done
for target in "${proxies[@]}"; do
  cpu[$target]=$(median <<<"${all_cpu[$target]}")
  added[$target]=$(median <<<"${all_added[$target]}")
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
verdict() {  # verdict A OP B -> met / not met
  if python3 -c "import sys; sys.exit(not ($1 $2 $3))"; then echo met; else echo "**not met**"; fi
}
cat <<REPORT
### HTTP/2 run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), commit $(git -C "$repo" rev-parse --short HEAD)

Command: \`bench/proxy/h2.sh --build-dir ${build_dir#"$repo"/} --duration $duration --repeat $repeat --rate $rate --idle-connections $idle_connections --idle-streams $idle_streams\`
Load average (1, 5, 15 min) before: $load_before; after the load rounds: $load_after_load; at the end: $load_after.

Medians of $repeat interleaved rounds (every round in brackets). h2load: one
connection, $duration s. gRPC: ghz, one connection, unary Echo; calls/s with 50 in
flight for $duration s; p50/p99 at $rate calls/s (16 in flight, $((rate * duration)) calls); the
added p99 is the proxy's p99 minus the direct path's in the same round.

| path | h2load req/s, 1 stream | h2load req/s, 100 streams | CPU µs per request, 100 streams | gRPC calls/s, 50 in flight | gRPC p50 / p99 ms at $rate/s | added p99 ms |
|---|---|---|---|---|---|---|
REPORT
for target in "${targets[@]}"; do
  cpu_cell=- added_cell=-
  [[ -n ${cpu[$target]:-} ]] && cpu_cell="${cpu[$target]} (${all_cpu[$target]# })"
  [[ -n ${added[$target]:-} ]] && added_cell="${added[$target]} (${all_added[$target]# })"
  echo "| $target | ${m1[$target]} (${all_m1[$target]# }) | ${m100[$target]} (${all_m100[$target]# }) | $cpu_cell | ${grpc[$target]} (${all_grpc[$target]# }) | ${p50[$target]} / ${p99[$target]} (${all_p99[$target]# }) | $added_cell |"
done
cat <<REPORT

Memory with $idle_total idle streams ($idle_connections connections x $idle_streams streams, request
bodies never sent; fresh proxies, one at a time; nginx: master + worker):

| proxy | VmRSS fresh | VmRSS with $idle_total streams | per stream | upstream connections | the client's counts |
|---|---|---|---|---|---|
REPORT
for target in "${proxies[@]}"; do
  per_stream=$(python3 -c "print(f'{(${rss_idle[$target]} - ${rss_fresh[$target]}) * 1024 / $idle_total:.0f}')")
  echo "| $target | $(mib "${rss_fresh[$target]}") MiB | $(mib "${rss_idle[$target]}") MiB | $per_stream B | ${upstream_connections[$target]} | \`${held[$target]}\` |"
done
cat <<REPORT

- Throughput weft-proxy / HAProxy (target ≥ 1.0): 1 stream **$(ratio "${m1[weft-proxy]}" "${m1[haproxy]}")** ($(verdict "${m1[weft-proxy]}" ">=" "${m1[haproxy]}")), 100 streams **$(ratio "${m100[weft-proxy]}" "${m100[haproxy]}")** ($(verdict "${m100[weft-proxy]}" ">=" "${m100[haproxy]}")), gRPC **$(ratio "${grpc[weft-proxy]}" "${grpc[haproxy]}")** ($(verdict "${grpc[weft-proxy]}" ">=" "${grpc[haproxy]}")); weft-proxy / nginx: $(ratio "${m1[weft-proxy]}" "${m1[nginx]}"), $(ratio "${m100[weft-proxy]}" "${m100[nginx]}"), $(ratio "${grpc[weft-proxy]}" "${grpc[nginx]}").
- Added gRPC p99 at $rate/s (target ≤ HAProxy's): weft-proxy ${added[weft-proxy]} ms, HAProxy ${added[haproxy]} ms, nginx ${added[nginx]} ms ($(verdict "${added[weft-proxy]}" "<=" "${added[haproxy]}")).
- CPU per request at 100 streams: weft-proxy ${cpu[weft-proxy]} µs, HAProxy ${cpu[haproxy]} µs, nginx ${cpu[nginx]} µs (ratio weft-proxy / HAProxy: $(ratio "${cpu[weft-proxy]}" "${cpu[haproxy]}")).
REPORT
