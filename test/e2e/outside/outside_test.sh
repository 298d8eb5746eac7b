#!/usr/bin/env bash
# The request flow from outside the cluster: user -> load
# balancer -> web's proxy -> api's proxy -> api and back. A meshed `web` behind
# a Service of type LoadBalancer (no load-balancer controller here: the test
# plays the load balancer, as a cloud's network load balancer does: it asks
# the node's health-check node port whether the node has a local endpoint,
# then sends to the node port). The client is on this machine's root network
# namespace, outside the node's; kube-proxy (iptables) forwards to web's pod,
# whose proxy takes the request in, web calls a meshed `api` through its
# proxy over mTLS, api's proxy hands it to api. Each hop is proved from a
# counter that only this traffic moves, and the answer names both pods.
#
# The client's address: with `externalTrafficPolicy: Local` kube-proxy does not
# masquerade, so web's proxy sees the host's veth address (10.243.N.1): a
# MeshPolicy allowing only that /32 by CIDR lets the requests in (counted as
# allowed under its name), one with another CIDR answers 403. With `Cluster`
# kube-proxy masquerades external traffic to a NodePort (it may have to send it
# to another node), so the source becomes the node's address on the pod bridge
# (10.244.N.1): the /32 of the host no longer matches, that of the bridge does.
#
# usage: outside_test.sh nodeport
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

# from_host URL: one request from this machine's root namespace; prints
# "STATUS BODY" (000 when nothing answered).
from_host() {
  local out
  out=$(curl --noproxy '*' -s --max-time 5 -w '\n%{http_code}' "$1") || true
  printf '%s %s\n' "${out##*$'\n'}" "$(head -n -1 <<<"$out" | tr '\n' ' ')"
}

# await_host_status URL STATUS: polls until a request from the host is
# answered STATUS (a policy or a kube-proxy rule on its way), 30 s at most.
await_host_status() {
  answered_with() { [[ $(from_host "$1") == "$2 "* ]]; }
  eventually 30 "$1 answered $2 from the host" answered_with "$@"
}

# allow_only_cidr CIDR: the MeshPolicy `from-outside` on web lets in only
# clients from CIDR (the kubelet's probes pass as probes, policy "probe").
allow_only_cidr() {
  k apply --server-side --force-conflicts -f - >/dev/null <<YAML || fail "apply MeshPolicy from-outside"
apiVersion: weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: from-outside, namespace: $ns}
spec:
  targetRef: {name: web, port: 8080}
  authorization:
    defaultAction: Deny
    rules:
      - from:
          cidrs: [$1]
YAML
}

# authz_count METRICS-TEXT allow|deny: web's proxy's decisions under from-outside.
authz_count() {
  metric_sum "inbound_http_authz_$2_total" 'policy="from-outside"' <<<"$1"
}

check_nodeport() {
  mesh_namespace outside
  install_weft
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  # web behind a load balancer that keeps the client's address; api without
  # its own downstream: the chain ends at api.
  deploy_samples 01-services.yaml
  k -n "$ns" patch service web --type merge \
    -p '{"spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local"}}' >/dev/null ||
    fail "make web a LoadBalancer Service"
  deploy_samples web.yaml
  deploy_samples api.yaml '/--downstream=/d'
  wait_rolled_out web api
  local id_prefix="spiffe://cluster.local/ns/$ns/sa"
  eventually 60 "api's endpoint meshed in the proxy config" config_has "
    [.outbound.services[] | select(.name == \"api\") | .ports[].endpoints[].identity]
      == [\"$id_prefix/api\"]"

  local node_ip host_ip bridge_ip node_port url web api
  node_ip=$(node_var node_ip)
  host_ip=$(node_var link_host_ip)
  bridge_ip=$(node_var pod_gateway)
  node_port=$(k -n "$ns" get service web -o jsonpath='{.spec.ports[0].nodePort}')
  url=http://$node_ip:$node_port/
  web=$(pod_of web) api=$(pod_of api)
  echo "host $host_ip -> NodePort $url (externalTrafficPolicy: Local) -> $web -> $api"
  # The load balancer's health check: kube-proxy says the node has web's pod.
  local health_port health
  health_port=$(k -n "$ns" get service web -o jsonpath='{.spec.healthCheckNodePort}')
  [[ -n $health_port ]] || fail "web has no healthCheckNodePort"
  node_serves_web() {
    health=$(curl --noproxy '*' -sf --max-time 5 "http://$node_ip:$health_port/") &&
      jq -e '.localEndpoints == 1' <<<"$health" >/dev/null
  }
  eventually 30 "the node's health check for web" node_serves_web
  echo "health check http://$node_ip:$health_port/: $(jq -c . <<<"$health")"

  allow_only_cidr "$host_ip/32"
  await_host_status "$url" 200

  # Counters only this traffic moves: the kubelet's probes are answered as
  # probes (not under from-outside) and never call api; api's inbound
  # requests from web's identity are web's calls. On the way there
  # request_total, on the way back response_total with status 200.
  web_allowed() { authz_count "$(proxy_metrics "$web")" allow; }
  web_to_api() { # web_to_api METRIC [LABEL...]: web's outbound to api over mTLS
    proxy_metrics "$web" | metric_sum "$1" 'direction="outbound"' 'target_service="api:8080"' \
      'tls="true"' "server_id=\"$id_prefix/api\"" "${@:2}"
  }
  api_from_web() { # api_from_web METRIC [LABEL...]: api's inbound from web's identity
    proxy_metrics "$api" | metric_sum "$1" 'direction="inbound"' 'tls="true"' \
      "client_id=\"$id_prefix/web\"" "${@:2}"
  }
  web_plain_in() { # web's inbound in plaintext (the host, and the kubelet's probes)
    proxy_metrics "$web" | metric_sum request_total 'direction="inbound"' 'tls="no_identity"'
  }
  local hops=(web_in web_plain_in web_out api_in api_back web_back)
  counter() { # counter HOP: that hop's counter now
    case $1 in
      web_in) web_allowed ;;
      web_plain_in) web_plain_in ;;
      web_out) web_to_api request_total ;;
      api_in) api_from_web request_total ;;
      api_back) api_from_web response_total 'status_code="200"' ;;
      web_back) web_to_api response_total 'status_code="200"' ;;
    esac
  }
  local -A before after
  local hop
  for hop in "${hops[@]}"; do before[$hop]=$(counter "$hop"); done
  local n=20 i answer
  for ((i = 0; i < n; i++)); do
    answer=$(from_host "$url")
    [[ $answer == "200 "* ]] || fail "request $i from the host: $answer"
    jq -e --arg web "$web" --arg api "$api" '.name == "web" and .pod == $web and .status == 200
      and (.downstream | length) == 1 and .downstream[0].status == 200
      and .downstream[0].body.name == "api" and .downstream[0].body.pod == $api' \
      <<<"${answer#* }" >/dev/null || fail "the answer did not come through $web and $api: $answer"
  done
  echo "answer: ${answer#* }"
  for hop in "${hops[@]}"; do after[$hop]=$(counter "$hop"); done
  for hop in web_in web_out api_in api_back web_back; do
    echo "$hop: +$((after[$hop] - before[$hop]))"
    ((after[$hop] - before[$hop] == n)) ||
      fail "$hop counted $((after[$hop] - before[$hop])) requests, expected $n"
  done
  echo "web_plain_in: +$((after[web_plain_in] - before[web_plain_in])) (the host's, and the kubelet's probes)"
  ((after[web_plain_in] - before[web_plain_in] >= n)) || fail "web's inbound request_total missed requests"
  echo "(web_in: web's inbound, allowed by from-outside ($host_ip/32); web_out: web's" \
    "outbound to api over mTLS to $id_prefix/api; api_in: api's inbound from $id_prefix/web;" \
    "api_back, web_back: their 200 responses on the way back)"

  # Another CIDR: the host is refused with 403, counted as denied, and web
  # never calls api for it.
  allow_only_cidr 192.0.2.0/24
  await_host_status "$url" 403
  before[deny]=$(authz_count "$(proxy_metrics "$web")" deny) before[web_out]=$(web_to_api request_total)
  for ((i = 0; i < 5; i++)); do
    answer=$(from_host "$url")
    [[ $answer == "403 forbidden: "* ]] || fail "expected 403 with 192.0.2.0/24, got: $answer"
  done
  after[deny]=$(authz_count "$(proxy_metrics "$web")" deny) after[web_out]=$(web_to_api request_total)
  echo "only 192.0.2.0/24 allowed: 5 x 403, web's proxy denied +$((after[deny] - before[deny]))," \
    "web -> api +$((after[web_out] - before[web_out]))"
  ((after[deny] - before[deny] == 5)) || fail "web's proxy counted $((after[deny] - before[deny])) denials, expected 5"
  ((after[web_out] == before[web_out])) || fail "a denied request reached web's app"

  # externalTrafficPolicy: Cluster: kube-proxy masquerades the host's request
  # to the bridge address; the host's /32 no longer matches, the bridge's does.
  allow_only_cidr "$host_ip/32"
  await_host_status "$url" 200
  k -n "$ns" patch service web --type merge -p '{"spec":{"externalTrafficPolicy":"Cluster"}}' \
    >/dev/null || fail "set externalTrafficPolicy: Cluster"
  await_host_status "$url" 403
  echo "Cluster, only $host_ip/32 allowed: $(from_host "$url" | cut -c1-80)"
  allow_only_cidr "$bridge_ip/32"
  await_host_status "$url" 200
  before[web_in]=$(web_allowed)
  for ((i = 0; i < 5; i++)); do
    answer=$(from_host "$url")
    [[ $answer == "200 "* ]] || fail "Cluster, only $bridge_ip/32 allowed: $answer"
  done
  after[web_in]=$(web_allowed)
  ((after[web_in] - before[web_in] == 5)) ||
    fail "web's proxy allowed $((after[web_in] - before[web_in])) requests from $bridge_ip, expected 5"
  echo "Cluster, only $bridge_ip/32 (the node's bridge address) allowed: 5 x 200: the source was masqueraded"
}

case "${1:-}" in
  nodeport) "check_$1" ;;
  *)
    echo "usage: outside_test.sh nodeport" >&2
    exit 2
    ;;
esac
echo "PASS $1"
