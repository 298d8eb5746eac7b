#!/usr/bin/env bash
# weft-init for real: in two network namespaces this test creates (a "pod" and a
# "peer" joined by a veth pair), weft-init installs the capture rules in the pod;
# iptables-save and real TCP connections then show that outbound TCP lands on the
# proxy's outbound port (original destination kept), inbound on its inbound port,
# and that the proxy UID, loopback, the admin port and the skipped ports and
# subnets are exempt. Needs root; skipped (exit 77) otherwise.
#   init_netns.sh WEFT_INIT_BIN
set -euo pipefail
init_bin=${1:?usage: init_netns.sh WEFT_INIT_BIN}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v iptables-save >/dev/null; then
  echo "SKIP: needs root, ip and iptables" >&2
  exit 77
fi

suffix=$$
pod=weft-it-pod-$suffix
peer=weft-it-peer-$suffix
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$pod" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ip netns add "$pod"
ip netns add "$peer"
ip link add "wp$suffix" type veth peer name "wq$suffix"
ip link set "wp$suffix" netns "$pod"
ip link set "wq$suffix" netns "$peer"
in_pod() { ip netns exec "$pod" "$@"; }
in_peer() { ip netns exec "$peer" "$@"; }
in_pod ip link set lo up
in_pod ip addr add 10.250.0.1/24 dev "wp$suffix"
in_pod ip link set "wp$suffix" up
in_pod ip route add 10.250.1.0/24 via 10.250.0.2
in_peer ip link set lo up
in_peer ip addr add 10.250.0.2/24 dev "wq$suffix"
in_peer ip addr add 10.250.1.2/24 dev "wq$suffix"
in_peer ip link set "wq$suffix" up

args=(--skip-inbound-ports 8081 --skip-outbound-ports 9000 --skip-subnets 10.250.1.0/24)
in_pod "$init_bin" "${args[@]}" >/dev/null
first=$(in_pod iptables-save -t nat | grep -v '^#')
grep -q -- '-A WEFT_OUTBOUND -m owner --uid-owner 2102 -j RETURN' <<<"$first" || fail "no UID exemption: $first"
grep -q -- '-A WEFT_OUTBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4140' <<<"$first" || fail "no outbound redirect"
grep -q -- '-A WEFT_INBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4143' <<<"$first" || fail "no inbound redirect"
# A restarted init container applies the same rules again: nothing doubles.
in_pod "$init_bin" "${args[@]}" >/dev/null
[[ $(in_pod iptables-save -t nat | grep -v '^#') == "$first" ]] || fail "second run changed the rules"

start_server() {
  local ns=$1
  shift
  ip netns exec "$ns" python3 "$here/tcp_tag.py" serve "$@" >"/tmp/weft-it-$ns.out" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 50); do
    grep -q ready "/tmp/weft-it-$ns.out" 2>/dev/null && { rm -f "/tmp/weft-it-$ns.out"; return 0; }
    sleep 0.1
  done
  fail "server in $ns did not start"
}
start_server "$pod" proxy-outbound:4140 proxy-inbound:4143 admin:4191 app:8080 app-skipped:8081
start_server "$peer" peer:80 peer-skipped:9000

# expect NS HOST PORT UID WANT: the answer starts with WANT.
expect() {
  local ns=$1 host=$2 port=$3 uid=$4 want=$5 got
  if [[ $uid == - ]]; then
    got=$(ip netns exec "$ns" python3 "$here/tcp_tag.py" connect "$host" "$port")
  else
    got=$(ip netns exec "$ns" python3 "$here/tcp_tag.py" connect "$host" "$port" "$uid")
  fi
  [[ $got == "$want"* ]] || fail "$ns -> $host:$port (uid $uid): got '$got', want '$want'"
  echo "ok: $ns -> $host:$port (uid $uid): $got"
}
expect "$pod" 10.250.0.2 80 - "proxy-outbound 10.250.0.2:80"  # outbound captured, destination kept
expect "$pod" 10.250.0.2 80 1000 "proxy-outbound 10.250.0.2:80" # any other UID too
expect "$pod" 10.250.0.2 80 2102 "peer"                         # the proxy's own traffic is not
expect "$pod" 10.250.0.2 9000 - "peer-skipped"                  # skip-outbound-ports
expect "$pod" 10.250.1.2 80 - "peer"                            # skip-subnets
expect "$pod" 127.0.0.1 8080 - "app"                            # loopback
expect "$peer" 10.250.0.1 8080 - "proxy-inbound 10.250.0.1:8080" # inbound captured
expect "$peer" 10.250.0.1 8081 - "app-skipped"                  # skip-inbound-ports
expect "$peer" 10.250.0.1 4191 - "admin"                        # the admin port is never captured
echo "PASS: capture rules installed by weft-init behave as specified"
