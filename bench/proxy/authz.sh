#!/usr/bin/env bash
# Cost of the proxy's inbound authorization decision with 0, 10 and 100 allow
# rules (bench/proxy/authz_decision.cpp: the decision alone, one thread, no
# I/O; each case is the worst of its size, every rule checked):
#   - ns per decision: the median of ROUNDS rounds of 1,000,000 decisions;
#   - instructions per decision: callgrind's count for 2N decisions minus the
#     count for N (the start-up, compiling the policy included, cancels out),
#     divided by N. It does not move with the machine's noise, unlike time
#     (`perf stat` would count the same, but this machine's virtual CPU has no
#     performance counters).
# The issue's target: a policy with 100 rules adds at most 1 µs per request.
#
# Usage: bench/proxy/authz.sh [--build-dir DIR] [--rounds N] [--no-build]
# Prints a Markdown report (bench/RESULTS.md, "Authorization"). Needs valgrind.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build rounds=7 build=1
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--build-dir DIR] [--rounds N] [--no-build]" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "authz: --rounds needs a positive number" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "authz: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
if ((build)); then cmake --build "$build_dir" --target authz_decision >&2; fi
program=$build_dir/bench/proxy/authz_decision
[[ -x $program ]] || { echo "authz: $program not built" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-authz-XXXXXX")
trap 'rm -rf "$work"' EXIT

# instructions RULES VERDICT: user-space instructions per decision (callgrind).
instructions() {
  local n=20000 one two
  collected() { # collected ITERATIONS: callgrind's total for one run
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
echo "bench/proxy/authz.sh --rounds $rounds"
echo '```'
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
