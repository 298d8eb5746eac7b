#!/usr/bin/env bash
# weft-proxy against the direct path, HAProxy and nginx, side by side in one run
# on this machine, everything on 127.0.0.1:
#   - maximum throughput: wrk, 1 thread, 50 connections, $DURATION seconds;
#   - latency p50/p99/p99.9 at constant rates of 1,000 and 5,000 requests/s:
#     fortio (from the Go module proxy), 16 connections, $DURATION seconds;
#   - CPU time per request of each proxy (user + system, from /proc) at
#     5,000 requests/s, the same work for each;
#   - weft-proxy's RSS idle and its peak during the 5,000/s run.
# With --baseline DIR, the weft-proxy of another build (an earlier commit)
# runs beside the current one in the same rounds, as weft-baseline: a
# before/after comparison on the same machine at the same moment.
# Equivalent setups: one worker each, HTTP/1.1 keep-alive to the backend, the
# backend is nginx answering "ok" from one worker. weft-proxy routes through a
# configuration document (Service -> endpoint, default balancer), as in a pod.
#
# Usage: bench/proxy/run.sh [--build-dir DIR] [--baseline DIR] [--duration SECONDS] [--repeat N]
# Throughput and latency runs are interleaved (direct, weft-proxy, HAProxy,
# nginx, then again) N times (default 3) and medians are reported: single runs
# move by tens of percent (other processes, and the virtual machine's wake-up
# latency, which dominates the tail at fixed rates).
# Prints a Markdown report (paste it into bench/RESULTS.md, "Proxy" section).
# Needs scripts/install-deps (wrk, haproxy, nginx-light) and Go for fortio.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build
duration=10
repeat=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --baseline) baseline_dir=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--baseline DIR] [--duration SECONDS] [--repeat N]" >&2; exit 2 ;;
  esac
done
baseline_dir=${baseline_dir:-}
proxy_binary=$build_dir/bin/weft-proxy
[[ -x $proxy_binary ]] || { echo "no $proxy_binary: build the release preset first" >&2; exit 1; }
if [[ -n $baseline_dir && ! -x $baseline_dir/bin/weft-proxy ]]; then
  echo "no $baseline_dir/bin/weft-proxy: build the baseline's release preset first" >&2
  exit 1
fi
for tool in wrk haproxy nginx; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/install-deps" >&2; exit 1; }
done

# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash"
ensure_fortio

start_backend
haproxy_port=$(free_port)
nginx_port=$(free_port)

# HAProxy: one thread, HTTP mode, connections to the backend kept and reused.
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:$haproxy_port
  default_backend app
backend app
  server app1 127.0.0.1:$backend_port
CONF
haproxy -f "$work/haproxy.cfg" -db &
haproxy_pid=$!
pids+=("$haproxy_pid")

# nginx as a proxy: one worker, keep-alive upstream.
mkdir -p "$work/nginx"
nginx_config "$work/nginx" "$nginx_port" \
  'proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";' \
  "upstream app { server 127.0.0.1:$backend_port; keepalive 128; }"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
pids+=("$nginx_pid")

write_weft_config
# start_weft BINARY NAME: one worker, as in a pod; sets started_pid and started_port.
start_weft() {
  "$1" "${weft_flags[@]}" >"$work/$2.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 100); do grep -q '"weft-proxy started"' "$work/$2.log" && break; sleep 0.05; done
  started_port=$(outbound_port_of "$work/$2.log")
}
start_weft "$proxy_binary" weft-proxy
weft_pid=$started_pid weft_port=$started_port
if [[ -n $baseline_dir ]]; then
  start_weft "$baseline_dir/bin/weft-proxy" weft-baseline
  baseline_pid=$started_pid baseline_port=$started_port
fi

for port in "$backend_port" "$haproxy_port" "$nginx_port" "$weft_port" ${baseline_port:-}; do wait_port "$port"; done
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
peak_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
libs_loaded() { awk '$6 ~ /\.so/ {print $6}' "/proc/$1/maps" | sort -u | wc -l; }
sleep 1
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
weft_idle_rss=$(rss_kb "$weft_pid")
weft_idle_anon=$(anon_kb "$weft_pid")
weft_libs=$(libs_loaded "$weft_pid")

declare -A port=([direct]=$backend_port [weft-proxy]=$weft_port [haproxy]=$haproxy_port [nginx]=$nginx_port)
targets=(direct weft-proxy haproxy nginx)
# The processes whose CPU time a target's requests cost (nginx: its worker,
# a child of the master).
declare -A cpu_pids=([weft-proxy]=$weft_pid [haproxy]=$haproxy_pid [nginx]="$nginx_pid $(pgrep -P "$nginx_pid" | xargs)")
if [[ -n $baseline_dir ]]; then
  port[weft-baseline]=$baseline_port
  cpu_pids[weft-baseline]=$baseline_pid
  targets=(direct weft-proxy weft-baseline haproxy nginx)
fi
# The order of the targets in a round: with a baseline, the two weft-proxy
# builds swap places every other round, so that neither always runs right
# after the same neighbour (in a fixed order, the build that ran first used
# 8-15 % more CPU per request; alternating, 3 %: bench/RESULTS.md).
round_order() {  # round_order N -> the targets, one per line
  local target
  for target in "${targets[@]}"; do
    if [[ -n $baseline_dir && $(($1 % 2)) == 0 ]]; then
      case $target in
        weft-proxy) target=weft-baseline ;;
        weft-baseline) target=weft-proxy ;;
      esac
    fi
    echo "$target"
  done
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
declare -A rps p50_1k p99_1k p999_1k p50_5k p99_5k p999_5k
weft_peak_rss=0

percentiles() {  # percentiles JSON -> "p50 p99 p99.9" in ms
  python3 - "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
p = {round(x["Percentile"], 1): x["Value"] * 1000 for x in data["DurationHistogram"]["Percentiles"]}
ok = data["RetCodes"].get("200", 0)
total = sum(data["RetCodes"].values())
if ok != total:
    sys.exit(f"non-200 answers: {data['RetCodes']}")
print(f"{p[50.0]:.3f} {p[99.0]:.3f} {p[99.9]:.3f} {data['ActualQPS']:.0f}")
PY
}

declare -A all_rps
for round in $(seq "$repeat"); do
  for target in $(round_order "$round"); do
    echo "[bench] $target: wrk, round $round" >&2
    wrk -t1 -c50 -d"${duration}s" "http://127.0.0.1:${port[$target]}/" >"$work/wrk-$target.txt"
    grep -q "Non-2xx" "$work/wrk-$target.txt" && { echo "$target answered non-2xx" >&2; exit 1; }
    all_rps[$target]+=" $(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-$target.txt")"
  done
done
for target in "${targets[@]}"; do
  rps[$target]=$(median <<<"${all_rps[$target]}")
done

# Latency: interleaved like the throughput runs (each round: every target at
# 1,000/s, then at 5,000/s), the median of each percentile over the rounds.
declare -A all_p50 all_p99 all_p999 all_cpu
for round in $(seq "$repeat"); do
  for rate in 1000 5000; do
    for target in $(round_order "$round"); do
      url=http://127.0.0.1:${port[$target]}/
      echo "[bench] $target: fortio at $rate/s, round $round" >&2
      # The peak RSS during weft-proxy's 5,000/s runs is the kernel's high-water
      # mark, reset before each run: no sampling process competes with the
      # proxy while its latency is measured.
      [[ $target == weft-proxy && $rate == 5000 ]] && echo 5 >"/proc/$weft_pid/clear_refs"
      [[ -n ${cpu_pids[$target]:-} ]] && ticks_before=$(cpu_ticks "${cpu_pids[$target]}")
      # -r: 10 µs histogram buckets (the default 1 ms ones interpolate every
      # sub-millisecond percentile from the same bucket, hiding the differences).
      "$fortio" load -quiet -qps "$rate" -c 16 -t "${duration}s" -r 0.00001 -p "50,99,99.9" \
        -json "$work/fortio.json" "$url" >/dev/null 2>&1
      if [[ $target == weft-proxy && $rate == 5000 ]]; then
        current=$(peak_kb "$weft_pid")
        ((current > weft_peak_rss)) && weft_peak_rss=$current
        weft_anon_after=$(anon_kb "$weft_pid")
      fi
      read -r p50 p99 p999 actual < <(percentiles "$work/fortio.json")
      if [[ -n ${cpu_pids[$target]:-} && $rate == 5000 ]]; then
        ticks=$(($(cpu_ticks "${cpu_pids[$target]}") - ticks_before))
        all_cpu[$target]+=" $(python3 -c "print(f'{$ticks / $clock_ticks * 1e6 / ($actual * $duration):.1f}')")"
      fi
      all_p50[$target-$rate]+=" $p50" all_p99[$target-$rate]+=" $p99" all_p999[$target-$rate]+=" $p999"
      echo "[bench]   achieved $actual/s, p99 $p99 ms" >&2
    done
  done
done
for target in "${targets[@]}"; do
  p50_1k[$target]=$(median <<<"${all_p50[$target-1000]}")
  p99_1k[$target]=$(median <<<"${all_p99[$target-1000]}")
  p999_1k[$target]=$(median <<<"${all_p999[$target-1000]}")
  p50_5k[$target]=$(median <<<"${all_p50[$target-5000]}")
  p99_5k[$target]=$(median <<<"${all_p99[$target-5000]}")
  p999_5k[$target]=$(median <<<"${all_p999[$target-5000]}")
done
declare -A cpu
for target in "${!cpu_pids[@]}"; do cpu[$target]=$(median <<<"${all_cpu[$target]}"); done

mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
added() { python3 -c "print(f'{$1 - $2:.3f}')"; }
cat <<REPORT
### Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))

Command: \`bench/proxy/run.sh --build-dir ${build_dir#"$repo"/}${baseline_dir:+ --baseline $baseline_dir} --duration $duration --repeat $repeat\`
Load average before the run: $load_before.

Medians of $repeat interleaved rounds (the p99 of every round in brackets).

| path | wrk max req/s (all rounds) | p50 / p99 / p99.9 ms at 1,000/s | p50 / p99 / p99.9 ms at 5,000/s | CPU µs per request at 5,000/s (all rounds) |
|---|---|---|---|---|
REPORT
for target in "${targets[@]}"; do
  cpu_cell=-
  [[ -n ${cpu[$target]:-} ]] && cpu_cell="${cpu[$target]} (${all_cpu[$target]# })"
  echo "| $target | ${rps[$target]} (${all_rps[$target]# }) | ${p50_1k[$target]} / ${p99_1k[$target]} (${all_p99[$target-1000]# }) / ${p999_1k[$target]} | ${p50_5k[$target]} / ${p99_5k[$target]} (${all_p99[$target-5000]# }) / ${p999_5k[$target]} | $cpu_cell |"
done
cat <<REPORT

- Throughput ratio weft-proxy / HAProxy: **$(ratio "${rps[weft-proxy]}" "${rps[haproxy]}")** (target ≥ 1.0); weft-proxy / nginx: $(ratio "${rps[weft-proxy]}" "${rps[nginx]}").
REPORT
if [[ -n $baseline_dir ]]; then
  echo "- This build against the baseline ($baseline_dir): throughput ratio **$(ratio "${rps[weft-proxy]}" "${rps[weft-baseline]}")**, CPU per request ratio **$(ratio "${cpu[weft-proxy]}" "${cpu[weft-baseline]}")** (1.00: no change; the baseline's own ratio to HAProxy: $(ratio "${rps[weft-baseline]}" "${rps[haproxy]}"))."
fi
cat <<REPORT
- CPU per request at 5,000/s: weft-proxy ${cpu[weft-proxy]} µs, HAProxy ${cpu[haproxy]} µs, nginx ${cpu[nginx]} µs (ratio weft-proxy / HAProxy: $(ratio "${cpu[weft-proxy]}" "${cpu[haproxy]}")).
- Added p99 over direct at 1,000/s: weft-proxy $(added "${p99_1k[weft-proxy]}" "${p99_1k[direct]}") ms, HAProxy $(added "${p99_1k[haproxy]}" "${p99_1k[direct]}") ms, nginx $(added "${p99_1k[nginx]}" "${p99_1k[direct]}") ms.
- Added p99 over direct at 5,000/s: weft-proxy $(added "${p99_5k[weft-proxy]}" "${p99_5k[direct]}") ms, HAProxy $(added "${p99_5k[haproxy]}" "${p99_5k[direct]}") ms, nginx $(added "${p99_5k[nginx]}" "${p99_5k[direct]}") ms.
- weft-proxy RSS: $(mib "$weft_idle_rss") MiB idle (target ≤ 10 MB), $(mib "$weft_peak_rss") MiB peak at 5,000/s (target ≤ 30 MB). Of these, anonymous memory (heap, stacks): $(mib "$weft_idle_anon") MiB idle, $(mib "$weft_anon_after") MiB after the 5,000/s runs; the rest are pages of the $weft_libs shared libraries mapped (file-backed, shared with every process using them).
REPORT
