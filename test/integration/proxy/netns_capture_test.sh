#!/usr/bin/env bash
# Transparent capture for real: two network namespaces ("pods") joined by a
# veth pair, each with the rules weft-init installs and weft-proxy running as
# the proxy UID. The client pod calls a Service IP with plain curl; its
# outbound capture sends that to its proxy (SO_ORIGINAL_DST gives the Service),
# which routes to the server pod's endpoint; there the inbound capture hands
# the connection to the server's proxy, which delivers it to the app.
#
# A third namespace, a "victim" pod behind the server pod (another veth), is
# the address a neighbour would reach by crafting a packet for it and sending
# it to the server pod: inbound capture redirects it to the server's proxy,
# which must refuse it rather than relay it (its connections are exempt from
# outbound capture).
#
# Needs root (ip netns, iptables). Every namespace and process it makes is
# removed on exit. Traffic stays inside the three namespaces.
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root for network namespaces"; exit 77; }
: "${WEFT_PROXY_BINARY:?}" "${WEFT_INIT_BINARY:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
proxy_uid=2102  # kProxyUid, which weft-init's rules exempt

client=weft-pc-$$
server=weft-ps-$$
victim=weft-pv-$$
work=$(mktemp -d /tmp/weft-netns-XXXXXX)
chmod 755 "$work"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$client" 2>/dev/null || true
  ip netns del "$server" 2>/dev/null || true
  ip netns del "$victim" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 20 "$log" >&2; done
  exit 1
}

in_client() { ip netns exec "$client" "$@"; }
in_server() { ip netns exec "$server" "$@"; }

ip netns add "$client"
ip netns add "$server"
ip link add "wc$$" type veth peer name "ws$$"
ip link set "wc$$" netns "$client"
ip link set "ws$$" netns "$server"
in_client ip addr add 10.200.0.1/24 dev "wc$$"
in_server ip addr add 10.200.0.2/24 dev "ws$$"
for ns in "$client" "$server"; do ip netns exec "$ns" ip link set lo up; done
in_client ip link set "wc$$" up
in_server ip link set "ws$$" up
# Service IPs are routed out of the pod, as a CNI does.
in_client ip route add default via 10.200.0.2
# The victim: reachable from the server pod only (the server does not forward).
ip netns add "$victim"
ip link add "vs$$" type veth peer name "vv$$"
ip link set "vs$$" netns "$server"
ip link set "vv$$" netns "$victim"
in_server ip addr add 10.201.0.2/24 dev "vs$$"
in_server ip link set "vs$$" up
ip netns exec "$victim" ip addr add 10.201.0.3/24 dev "vv$$"
ip netns exec "$victim" ip link set "vv$$" up
ip netns exec "$victim" ip link set lo up

# The proxy binary must be readable by the proxy UID.
cp "$WEFT_PROXY_BINARY" "$work/weft-proxy"
chmod 755 "$work/weft-proxy"

# The same rules the webhook's init container installs.
in_client "$WEFT_INIT_BINARY" >"$work/init-client.log" 2>&1 || fail "weft-init failed in the client pod"
in_server "$WEFT_INIT_BINARY" >"$work/init-server.log" 2>&1 || fail "weft-init failed in the server pod"
in_client iptables -t nat -S WEFT_OUTBOUND | grep -q -- "--uid-owner $proxy_uid" ||
  fail "weft-init did not install the outbound rules"

# The server pod's app: a plain HTTP server on its pod IP.
mkdir -p "$work/www"
echo "hello from the server pod" > "$work/www/hello.txt"
# (ip netns exec execs the command, so $! is the server itself.)
ip netns exec "$server" python3 -m http.server 8080 --bind 10.200.0.2 --directory "$work/www" \
  >"$work/app.log" 2>&1 &
pids+=($!)

mkdir -p "$work/victim"
echo "relayed to the victim" > "$work/victim/hello.txt"
ip netns exec "$victim" python3 -m http.server 8080 --bind 10.201.0.3 --directory "$work/victim" \
  >"$work/victim.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  ip netns exec "$victim" curl -fsS -m 1 -o /dev/null http://10.201.0.3:8080/ 2>/dev/null && break
  sleep 0.1
done
: >"$work/victim.log"  # (its own readiness probes are not relayed requests)

# The client's document: Service web (10.96.0.10:80) -> the server pod's port 8080.
HARNESS_DIR=$here python3 - "$work/config.json" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
from harness import document, service
with open(sys.argv[1], "w") as f:
    f.write(document([service("web", "10.96.0.10", 80, [("10.200.0.2", 8080)])], "netns"))
PY
chmod 644 "$work/config.json"

run_proxy() {  # run_proxy NETNS NAME CONFIG
  ip netns exec "$1" setpriv --reuid="$proxy_uid" --regid="$proxy_uid" --clear-groups \
    "$work/weft-proxy" --config "$3" --kube-watch off >"$work/$2.log" 2>&1 &
  pids+=($!)
}
run_proxy "$client" client-proxy "$work/config.json"
run_proxy "$server" server-proxy "$work/none.json"

ready() { ip netns exec "$1" curl -fsS -m 2 http://127.0.0.1:4191/ready >/dev/null 2>&1; }
for _ in $(seq 100); do
  ready "$client" && ready "$server" && break
  sleep 0.1
done
ready "$client" || fail "client proxy not ready"
ready "$server" || fail "server proxy not ready"
for _ in $(seq 50); do in_server curl -fsS -m 1 -o /dev/null http://10.200.0.2:8080/ 2>/dev/null && break; sleep 0.1; done

# The app calls the Service as if no proxy existed.
body=$(in_client curl -fsS -m 10 http://10.96.0.10/hello.txt) || fail "request through the mesh failed"
[[ $body == "hello from the server pod" ]] || fail "unexpected body: $body"
# A direct call to the pod IP (no Service) passes through both proxies too.
body=$(in_client curl -fsS -m 10 http://10.200.0.2:8080/hello.txt) || fail "direct pod request failed"
[[ $body == "hello from the server pod" ]] || fail "unexpected body: $body"

client_metrics=$(ip netns exec "$client" curl -fsS -m 2 http://127.0.0.1:4191/metrics)
server_metrics=$(ip netns exec "$server" curl -fsS -m 2 http://127.0.0.1:4191/metrics)
# No identity in the document: plaintext, with Linkerd's TLS labels.
plain_out='tls="no_identity",no_tls_reason="not_provided_by_service_discovery",client_id="",server_id=""'
plain_in='tls="no_identity",no_tls_reason="no_tls_from_remote",client_id="",server_id=""'
grep -qF 'request_total{direction="outbound",target_service="web:80",route="",route_rule="",backend="",'"$plain_out"'} 1' \
  <<<"$client_metrics" ||
  fail "the client proxy did not route the Service request: $(grep request_total <<<"$client_metrics")"
grep -qF 'request_total{direction="outbound",target_service="10.200.0.2:8080",route="",route_rule="",backend="",'"$plain_out"'} 1' \
  <<<"$client_metrics" || fail "the client proxy did not see the direct request"
grep -qF 'request_total{direction="inbound",target_service="10.200.0.2:8080",route="",route_rule="",backend="",'"$plain_in"'} 2' \
  <<<"$server_metrics" ||
  fail "the server proxy did not receive both requests inbound: $(grep request_total <<<"$server_metrics")"

# The crafted packet: from the client pod, bypassing its own capture (as the
# proxy UID), to the victim's address by way of the server pod. The server's
# inbound capture hands it to the server's proxy, whose original destination
# is the victim: not the server pod's own address, so it is refused.
if relayed=$(in_client setpriv --reuid="$proxy_uid" --regid="$proxy_uid" --clear-groups \
    curl -sS -m 10 http://10.201.0.3:8080/hello.txt 2>&1); then
  fail "the server pod's proxy relayed a crafted destination: $relayed"
fi
sleep 0.5
if grep -q "GET /hello.txt" "$work/victim.log"; then
  fail "the victim received a request relayed by the server pod's proxy"
fi
server_metrics=$(ip netns exec "$server" curl -fsS -m 2 http://127.0.0.1:4191/metrics)
grep -qx 'inbound_foreign_destination_total 1' <<<"$server_metrics" ||
  fail "the refusal was not counted: $(grep foreign <<<"$server_metrics")"
grep -q "an address not the pod's own" "$work/server-proxy.log" || fail "the refusal was not logged"
# The pod's own address still works after that.
body=$(in_client curl -fsS -m 10 http://10.200.0.2:8080/hello.txt) || fail "direct pod request failed"
[[ $body == "hello from the server pod" ]] || fail "unexpected body: $body"
echo "proxy.netns_capture: passed"
