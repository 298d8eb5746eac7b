#!/usr/bin/env bash
# Cost of the proxy's inbound authorization with 0, 10 and 100 allow rules:
#   1. the decision alone (bench/proxy/authz_decision.cpp: one thread, no I/O;
#      each case is the worst of its size, every rule checked):
#      - ns per decision: the median of ROUNDS rounds of 1,000,000 decisions;
#      - instructions per decision: callgrind's count for 2N decisions minus
#        its count for N (the start-up, compiling the policy included, cancels
#        out), divided by N. It does not move with the machine's noise, unlike
#        time (`perf stat` would count the same, but this machine's virtual
#        CPU has no performance counters).
#   2. through weft-proxy (unless --no-proxy): the server proxy of
#      bench/proxy/instructions_mtls.sh's mTLS pair (fortio -> client proxy
#      --mTLS--> server proxy -> nginx, kept alive), under callgrind, with no
#      policy and with a 100-rule policy whose last rule admits the client:
#      user-space instructions of its worker per request, and the difference;
#      then natively, its CPU time (user + system) per request at a fixed
#      rate, in interleaved rounds of both documents (medians).
# The issue's target: a policy with 100 rules adds at most 1 µs per request.
#
# Usage: bench/proxy/authz.sh [--build-dir DIR] [--rounds N] [--requests N]
#          [--cpu-rounds N] [--cpu-qps N] [--cpu-seconds N] [--no-build] [--no-proxy]
# Prints a Markdown report (bench/RESULTS.md, "Authorization"). Needs
# valgrind; through the proxy also nginx and python3-cryptography (fortio is
# built once).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build rounds=7 requests=3000 build=1 proxy=1
cpu_rounds=5 cpu_qps=2000 cpu_seconds=15
usage="usage: $0 [--build-dir DIR] [--rounds N] [--requests N] [--cpu-rounds N] [--cpu-qps N] [--cpu-seconds N] [--no-build] [--no-proxy]"
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --cpu-rounds) cpu_rounds=$2; shift 2 ;;
    --cpu-qps) cpu_qps=$2; shift 2 ;;
    --cpu-seconds) cpu_seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-proxy) proxy=0; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for value in "$rounds" "$requests" "$cpu_rounds" "$cpu_qps" "$cpu_seconds"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "authz: not a positive number: $value" >&2; exit 2; }
done
for tool in valgrind callgrind_control callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "authz: $tool not found (apt-get install valgrind)" >&2; exit 1; }
done
if ((build)); then cmake --build "$build_dir" --target authz_decision weft-proxy >&2; fi
program=$build_dir/bin/authz_decision
[[ -x $program ]] || { echo "authz: $program not built" >&2; exit 1; }
# shellcheck source=bench/proxy/common.bash
source "$repo/bench/proxy/common.bash" # $work, removed at exit

# instructions RULES VERDICT: user-space instructions per decision (callgrind).
instructions() {
  local n=20000 one two
  collected() { # collected ITERATIONS RULES VERDICT: callgrind's total for one run
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" \
      "$program" "$1" 1 "$2" "$3" </dev/null 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  one=$(collected "$n" "$1" "$2")
  two=$(collected $((2 * n)) "$1" "$2")
  echo $(((two - one) / n))
}

echo "Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)), commit $(git -C "$repo" rev-parse --short HEAD)"
echo
echo '```'
echo "bench/proxy/authz.sh --rounds $rounds --requests $requests"
echo '```'
echo
echo "The decision alone:"
echo
"$program" 1000000 "$rounds" >"$work/times.txt"
echo "| rules | client | decided by | ns per decision (median of $rounds) | instructions per decision (callgrind) |"
echo "|---|---|---|---|---|"
while read -r rules verdict decided ns _; do
  [[ $rules == rules=* ]] || continue
  rules=${rules#rules=} verdict=${verdict#verdict=} decided=${decided#decided_by=} ns=${ns#ns_per_decision=}
  case $verdict in
    allow) client="allowed (last rule)" ;;
    *) client="denied" ;;
  esac
  [[ $rules != none ]] || client="allowed (no authorization)"
  printf '| %s | %s | `%s` | %.1f | %s |\n' "$rules" "$client" "$decided" "$ns" \
    "$(instructions "$rules" "$verdict")"
done <"$work/times.txt"

((proxy)) || exit 0

# The two-proxy path of bench/proxy/instructions_mtls.sh, and the server
# proxy's document with a 100-rule policy: rules as authz_decision's, the last
# one admitting the client proxy's identity from 127.0.0.0/8.
ensure_fortio
command -v nginx >/dev/null || { echo "authz: nginx not found (scripts/install-deps)" >&2; exit 1; }
start_backend
server_port=$(free_port)
write_mesh_files "$server_port"
export WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1
wait_port "$backend_port"
HARNESS_DIR=$repo/test/integration/proxy python3 - "$work" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
import mtls_test
work = sys.argv[1]
rules = []
for i in range(100):
    rule = {"identities": [{"namespace": f"team-{i}", "serviceAccount": f"svc-{i}"}],
            "paths": [{"type": "PathPrefix", "value": f"/svc-{i}"}], "methods": ["GET", "POST"]}
    if i % 2 == 1:
        rule["cidrs"] = [f"10.{i}.0.0/16"]
    rules.append(rule)
rules[-1]["identities"].append({"namespace": "test", "serviceAccount": "front"})  # CLIENT_ID
rules[-1]["paths"].append({"type": "PathPrefix", "value": "/"})
rules[-1]["cidrs"] = ["127.0.0.0/8"]
policy = {"name": "bench", "podSelector": {}, "ports": [],
          "authorization": {"defaultAction": "Deny", "rules": rules}}
with open(os.path.join(work, "anchor.pem")) as f:
    anchor = f.read()
with open(os.path.join(work, "server-rules-100.json"), "w") as f:
    f.write(mtls_test.mesh_document(anchor, policies=[policy]))
PY

# start_pair DOCUMENT NAME [WRAPPER...]: the server proxy with DOCUMENT (run
# under WRAPPER, e.g. valgrind, if given) and a client proxy in front of it;
# sets $server, $client and $client_port once both have started.
start_pair() {
  local document=$1 name=$2 log
  shift 2
  "$@" "$build_dir/bin/weft-proxy" --listen-address 127.0.0.1 --outbound-port 0 --admin-port 0 \
    --kube-watch off --workers 1 --config "$document" --inbound-port "$server_port" \
    --inbound-fallback "127.0.0.1:$backend_port" --test-credentials-dir "$work/server" \
    >"$work/$name.server.log" 2>&1 &
  server=$!
  pids+=("$server")
  "$build_dir/bin/weft-proxy" --listen-address 127.0.0.1 --outbound-port 0 --admin-port 0 \
    --kube-watch off --workers 1 --config "$work/client-mtls-$server_port.json" --inbound-port 0 \
    --outbound-fallback 10.96.0.10:80 --test-credentials-dir "$work/client" \
    >"$work/$name.client.log" 2>&1 &
  client=$!
  pids+=("$client")
  for log in "$work/$name.server.log" "$work/$name.client.log"; do
    for _ in $(seq 600); do grep -q '"weft-proxy started"' "$log" && break; sleep 0.1; done
    grep -q '"weft-proxy started"' "$log" ||
      { echo "authz: a proxy did not start:" >&2; tail -5 "$log" >&2; exit 1; }
  done
  client_port=$(outbound_port_of "$work/$name.client.log")
}

# allowed_by_bench NAME: requests the server proxy's "bench" policy allowed.
allowed_by_bench() {
  local admin
  admin=$(grep '"weft-proxy started"' "$work/$1.server.log" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_port"])')
  curl -sS "http://127.0.0.1:$admin/metrics" |
    awk '/^inbound_http_authz_allow_total/ && /policy="bench"/ {s += $NF} END {printf "%d", s}'
}

# server_instructions DOCUMENT: prints the server proxy's worker instructions
# per request over $requests requests (the client proxy runs natively), and
# checks that its policy, if any, allowed each of them.
server_instructions() {
  local document=$1 name file total=0 threads=0
  name=$(basename "$document" .json)
  start_pair "$document" "$name" valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$work/callgrind.$name.%p"
  "$fortio" load -quiet -timeout 60s -c 4 -qps 0 -n 100 "http://127.0.0.1:$client_port/" >/dev/null 2>&1 # warm
  callgrind_control -z "$server" >/dev/null 2>&1
  "$fortio" load -quiet -timeout 60s -c 4 -qps 0 -n "$requests" "http://127.0.0.1:$client_port/" >"$work/fortio.txt" 2>&1
  grep -q "Code 200 : $requests " "$work/fortio.txt" ||
    { echo "authz: $name did not answer 200 to every request:" >&2; cat "$work/fortio.txt" >&2; exit 1; }
  callgrind_control -d "$server" >/dev/null 2>&1
  local allowed
  allowed=$(allowed_by_bench "$name")
  if [[ $name != server ]] && ((allowed < requests)); then
    echo "authz: the server proxy's policy allowed $allowed requests, expected $requests" >&2
    exit 1
  fi
  kill "$client" "$server"
  wait "$client" "$server" 2>/dev/null || true
  for file in "$work"/callgrind."$name"."$server".1-*; do
    grep -q 'WorkerPool::start()::' "$file" || continue
    threads=$((threads + 1))
    total=$((total + $(callgrind_annotate "$file" 2>/dev/null |
      sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)))
  done
  ((threads > 0)) || { echo "authz: no worker thread in the server's profile" >&2; exit 1; }
  echo $((total / requests))
}

# server_cpu DOCUMENT: the server proxy's CPU time (user + system, from
# /proc/PID/stat) per request, in ns, natively, at a fixed $cpu_qps for
# $cpu_seconds s (4 connections, kept alive); checks every answer was 200.
server_cpu() {
  local document=$1 name ticks_before ticks_after count hz
  name=$(basename "$document" .json)
  hz=$(getconf CLK_TCK)
  start_pair "$document" "$name"
  "$fortio" load -quiet -timeout 60s -c 4 -qps 0 -n 200 "http://127.0.0.1:$client_port/" >/dev/null 2>&1 # warm
  ticks_before=$(awk '{print $14 + $15}' "/proc/$server/stat")
  "$fortio" load -quiet -timeout 60s -c 4 -qps "$cpu_qps" -t "${cpu_seconds}s" \
    "http://127.0.0.1:$client_port/" >"$work/fortio.txt" 2>&1
  ticks_after=$(awk '{print $14 + $15}' "/proc/$server/stat")
  count=$(sed -n 's/^Code 200 : \([0-9]*\) .*/\1/p' "$work/fortio.txt")
  grep -q "^Code [^2]" "$work/fortio.txt" &&
    { echo "authz: $name answered something else than 200:" >&2; grep '^Code' "$work/fortio.txt" >&2; exit 1; }
  [[ -n $count ]] && ((count > 0)) || { echo "authz: no answer from $name" >&2; exit 1; }
  kill "$client" "$server"
  wait "$client" "$server" 2>/dev/null || true
  echo $(((ticks_after - ticks_before) * 1000000000 / hz / count))
}

echo "[bench] through the proxies: no policy, $requests requests" >&2
none=$(server_instructions "$work/server.json")
echo "[bench] through the proxies: 100 rules, $requests requests" >&2
hundred=$(server_instructions "$work/server-rules-100.json")
echo
echo "Server proxy of the mTLS pair (kept alive): user-space instructions of its worker per request (callgrind, $requests requests):"
echo
echo "| server document | instructions per request | added by the policy |"
echo "|---|---|---|"
echo "| no policy | $none | |"
echo "| 100 rules, the last admits the client | $hundred | $((hundred - none)) |"

# CPU time: interleaved rounds of both documents, medians. The clock ticks
# of /proc (10 ms) over $cpu_seconds s at $cpu_qps give a resolution of
# 10 ms / (qps x seconds) per request (0.33 µs at 2,000/s for 15 s).
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
none_cpu=() hundred_cpu=()
for ((round = 1; round <= cpu_rounds; round++)); do
  echo "[bench] CPU time, round $round of $cpu_rounds" >&2
  if ((round % 2)); then
    none_cpu+=("$(server_cpu "$work/server.json")")
    hundred_cpu+=("$(server_cpu "$work/server-rules-100.json")")
  else
    hundred_cpu+=("$(server_cpu "$work/server-rules-100.json")")
    none_cpu+=("$(server_cpu "$work/server.json")")
  fi
done
none_median=$(printf '%s\n' "${none_cpu[@]}" | median)
hundred_median=$(printf '%s\n' "${hundred_cpu[@]}" | median)
echo
echo "Server proxy's CPU time (user + system) per request, natively, $cpu_qps requests/s for ${cpu_seconds} s, $cpu_rounds interleaved rounds (median; rounds in brackets):"
echo
echo "| server document | ns per request | added by the policy |"
echo "|---|---|---|"
echo "| no policy | $none_median (${none_cpu[*]}) | |"
echo "| 100 rules, the last admits the client | $hundred_median (${hundred_cpu[*]}) | $((hundred_median - none_median)) |"
