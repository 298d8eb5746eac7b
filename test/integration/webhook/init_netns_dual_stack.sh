#!/usr/bin/env bash
# weft-init in a dual-stack pod: two network namespaces (a "pod" and a "peer")
# joined by a veth pair with IPv4 and IPv6 addresses. weft-init installs the
# capture rules for both families; real TCP connections over IPv6 then show
# that outbound lands on the proxy's outbound port (original destination kept),
# inbound on its inbound port, and that the proxy UID, loopback, the admin port
# and the skipped ports are exempt, as over IPv4; so IPv6 is no way around the
# proxy. With --ipv6 off it would be: the last check shows that. Needs root;
# skipped (exit 77) otherwise.
#   init_netns_dual_stack.sh WEFT_INIT_BIN
set -euo pipefail
init_bin=${1:?usage: init_netns_dual_stack.sh WEFT_INIT_BIN}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v ip6tables-save >/dev/null ||
  [[ ! -e /proc/net/if_inet6 ]]; then
  echo "SKIP: needs root, ip, ip6tables and an IPv6 kernel" >&2
  exit 77
fi

suffix=$$
pod=weft-it6-pod-$suffix
peer=weft-it6-peer-$suffix
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
ip link add "w6p$suffix" type veth peer name "w6q$suffix"
ip link set "w6p$suffix" netns "$pod"
ip link set "w6q$suffix" netns "$peer"
in_pod() { ip netns exec "$pod" "$@"; }
in_peer() { ip netns exec "$peer" "$@"; }
for ns in "$pod" "$peer"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
  ip netns exec "$ns" ip link set lo up
done
in_pod ip addr add 10.251.0.1/24 dev "w6p$suffix"
in_pod ip addr add fd00:251::1/64 dev "w6p$suffix" nodad
in_pod ip link set "w6p$suffix" up
in_peer ip addr add 10.251.0.2/24 dev "w6q$suffix"
in_peer ip addr add fd00:251::2/64 dev "w6q$suffix" nodad
in_peer ip link set "w6q$suffix" up

args=(--skip-inbound-ports 8081 --skip-outbound-ports 9000 --skip-subnets 10.251.1.0/24)
in_pod "$init_bin" "${args[@]}" >/dev/null
rules4=$(in_pod iptables-save -t nat | grep -v '^#')
rules6=$(in_pod ip6tables-save -t nat | grep -v '^#')
grep -q -- '-A WEFT_OUTBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4140' <<<"$rules4" || fail "no IPv4 rules"
grep -q -- '-A WEFT_OUTBOUND -m owner --uid-owner 2102 -j RETURN' <<<"$rules6" || fail "no IPv6 UID exemption: $rules6"
grep -q -- '-A WEFT_OUTBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4140' <<<"$rules6" || fail "no IPv6 outbound redirect"
grep -q -- '-A WEFT_INBOUND_REDIRECT -p tcp -j REDIRECT --to-ports 4143' <<<"$rules6" || fail "no IPv6 inbound redirect"
grep -q -- '-d ' <<<"$rules6" && fail "IPv4 subnets in the IPv6 rules: $rules6"
# A restarted init container applies the same rules again: nothing doubles.
in_pod "$init_bin" "${args[@]}" >/dev/null
[[ $(in_pod ip6tables-save -t nat | grep -v '^#') == "$rules6" ]] || fail "second run changed the IPv6 rules"

start_server() {
  local ns=$1
  shift
  ip netns exec "$ns" python3 "$here/tcp_tag.py" serve6 "$@" >"/tmp/weft-it6-$ns.out" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 50); do
    grep -q ready "/tmp/weft-it6-$ns.out" 2>/dev/null && { rm -f "/tmp/weft-it6-$ns.out"; return 0; }
    sleep 0.1
  done
  fail "server in $ns did not start: $(cat "/tmp/weft-it6-$ns.out")"
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
  echo "ok: $ns -> [$host]:$port (uid $uid): $got"
}
expect "$pod" fd00:251::2 80 - "proxy-outbound [fd00:251::2]:80"   # outbound captured, destination kept
expect "$pod" fd00:251::2 80 1000 "proxy-outbound [fd00:251::2]:80" # any other UID too
expect "$pod" fd00:251::2 80 2102 "peer"                            # the proxy's own traffic is not
expect "$pod" fd00:251::2 9000 - "peer-skipped"                     # skip-outbound-ports
expect "$pod" ::1 8080 - "app"                                      # loopback
expect "$peer" fd00:251::1 8080 - "proxy-inbound [fd00:251::1]:8080" # inbound captured
expect "$peer" fd00:251::1 8081 - "app-skipped"                     # skip-inbound-ports
expect "$peer" fd00:251::1 4191 - "admin"                           # the admin port is never captured

# --ipv6 off is the explicit way to leave IPv6 alone: then it bypasses the proxy.
in_pod ip6tables -t nat -F
in_pod ip6tables -t nat -X
in_pod "$init_bin" --ipv6 off "${args[@]}" >/dev/null
expect "$pod" fd00:251::2 80 - "peer"
echo "PASS: weft-init captures IPv6 like IPv4 in a dual-stack pod"
