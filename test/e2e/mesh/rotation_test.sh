#!/usr/bin/env bash
# Certificate rotation under steady load, end to end (docs/identity.md,
# "Rotating the issuer" and "Rotating the trust anchor"): a meshed weft-load
# pod sends a steady, bounded load to a meshed backend while
#   1. the proxies renew their leaves (weft-identity runs with 30 s leaves),
#   2. the issuer is rotated (its Secret deleted: weft-identity makes another),
#   3. the trust anchor is rotated by the documented three steps: (a) the new
#      anchor joins the bundle, (b) the anchor Secret holds the new anchor and
#      the issuer Secret is deleted, (c) the old anchor leaves the bundle;
# and every request must succeed. Each step is checked from outside the
# proxies: the leaf a proxy presents is read with `openssl s_client` from the
# node's network namespace and verified with `openssl verify` against the
# issuer and anchor it should chain to; which anchors a proxy trusts is tried
# with a client certificate of each anchor (accepted, or refused).
# weft-identity's arguments are restored at exit, even on failure; the trust
# chain is left on the new anchor (Weft's to renew issuers from).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/mesh_lib.sh
source "$here/mesh_lib.sh"
skip_unless_root

leaf_lifetime=30s
work=$(mktemp -d)
node_netns=

# The weft-identity Deployment as the install bundle has it (server-side apply
# takes the arguments back from the test's patch).
restore_identity() {
  k apply --server-side --force-conflicts -f "$repo/manifests/identity.yaml" >/dev/null &&
    k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null
}

cleanup() {
  restore_identity || echo "WARNING: weft-identity not restored" >&2
  k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}

# identity_with ARGS...: weft-identity rolled out with the install bundle's
# arguments plus ARGS.
identity_with() {
  local args
  args=$(identity_args "$@")
  k -n weft-system patch deployment weft-identity --type json \
    -p "[{\"op\": \"replace\", \"path\": \"/spec/template/spec/containers/0/args\", \"value\": $args}]" \
    >/dev/null || fail "patch weft-identity's arguments"
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out with $*"
}

# identity_args ARGS...: the install bundle's arguments of weft-identity plus
# ARGS, as a JSON array.
identity_args() {
  local extra
  extra=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
  k create --dry-run=client -o json -f "$repo/manifests/identity.yaml" 2>/dev/null |
    jq -c --argjson extra "$extra" \
      'select(.kind == "Deployment") | .spec.template.spec.containers[0].args + $extra'
}

# --- reading the chain a meshed proxy presents --------------------------------

# presented_chain IP PORT FILE: the certificates the meshed TLS server at
# IP:PORT presents (leaf first), written to FILE. The test offers Weft's ALPN
# protocol, so the proxy terminates it; the test has no client certificate, so
# the proxy ends the handshake after sending its chain (TLS 1.3: the server's
# certificate comes before the client's).
presented_chain() {
  nsenter --net="/run/netns/$node_netns" timeout 15 \
    openssl s_client -connect "$1:$2" -tls1_3 -alpn weft.io/mesh -showcerts </dev/null 2>/dev/null |
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' >"$3"
  grep -q 'BEGIN CERTIFICATE' "$3"
}

# first_certificate FILE: the first PEM certificate of FILE.
first_certificate() {
  openssl x509 -in "$1"
}

# leaf_chains_to LEAF-FILE ISSUER-FILE ANCHOR-FILE: the leaf (first
# certificate of LEAF-FILE) was signed by that issuer, which chains to that
# anchor, and nothing else is offered to the verifier. (Issuers share their
# subject name, so a leaf of another issuer fails on its signature.)
leaf_chains_to() {
  openssl verify -CAfile "$3" -untrusted "$2" <(first_certificate "$1") >/dev/null 2>&1
}

# serial FILE: the serial number of the first certificate of FILE.
serial() {
  openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

# proxy_leaf NAME IP PORT: the chain the proxy at IP:PORT presents, in
# $work/NAME.pem; fails when it cannot be read.
proxy_leaf() {
  presented_chain "$2" "$3" "$work/$1.pem"
}

# proxy_leaf_chains_to NAME IP PORT ISSUER-FILE ANCHOR-FILE: the proxy's
# current leaf chains through that issuer to that anchor (and not only to it).
proxy_leaf_chains_to() {
  proxy_leaf "$1" "$2" "$3" && leaf_chains_to "$work/$1.pem" "$4" "$5"
}

# --- which anchors a proxy trusts -------------------------------------------

# make_anchor NAME: a trust anchor as Weft's (ECDSA P-256, a CA that may sign
# one level of issuers), as docs/identity.md makes it, with a subject of its
# own: $work/NAME.crt and $work/NAME.key.
make_anchor() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -subj "/CN=root-$(date +%s).identity.weft.cluster.local" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -keyout "$work/$1.key" -out "$work/$1.crt" 2>/dev/null || fail "make the anchor $1"
}

# make_probe_client ANCHOR: a client leaf signed directly by ANCHOR
# ($work/ANCHOR.crt and .key), for an identity of the test's namespace:
# $work/probe-ANCHOR.crt and .key. A proxy accepts it only if it trusts ANCHOR.
make_probe_client() {
  local anchor=$1 probe=$work/probe-$1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=rotation-probe" -keyout "$probe.key" -out "$probe.csr" 2>/dev/null ||
    fail "make the probe's CSR"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=URI:spiffe://cluster.local/ns/$ns/sa/rotation-probe" >"$probe.ext"
  openssl x509 -req -in "$probe.csr" -CA "$work/$anchor.crt" -CAkey "$work/$anchor.key" \
    -CAcreateserial -days 1 -sha256 -extfile "$probe.ext" -out "$probe.crt" 2>/dev/null ||
    fail "sign the probe's certificate with $anchor"
}

# accepts_client IP PORT PATH ANCHOR: the meshed proxy at IP:PORT accepts mTLS
# from a client whose leaf ANCHOR signed: GET PATH is answered 200 through it.
accepts_client() {
  local probe=$work/probe-$4 answer
  answer=$(printf 'GET %s HTTP/1.1\r\nHost: rotation\r\nConnection: close\r\n\r\n' "$3" |
    nsenter --net="/run/netns/$node_netns" timeout 15 \
      openssl s_client -connect "$1:$2" -tls1_3 -alpn weft.io/mesh -quiet \
      -cert "$probe.crt" -key "$probe.key" 2>/dev/null || true)
  [[ $answer == "HTTP/1.1 200"* ]]
}

# refuses_client IP PORT PATH ANCHOR: the proxy at IP:PORT ends the handshake
# of a client whose leaf ANCHOR signed (nothing is answered).
refuses_client() { ! accepts_client "$@"; }

# --- the objects of weft-system ------------------------------------------------

# secret_field SECRET KEY FILE: one PEM field of a Secret of weft-system.
secret_field() {
  k -n weft-system get secret "$1" -o json | jq -r --arg key "$2" '.data[$key] | @base64d' >"$3"
}

# bundle_anchors: the anchors bundle (ca-bundle.crt).
bundle_anchors() {
  k -n weft-system get configmap weft-identity-trust-anchors -o json | jq -r '.data["ca-bundle.crt"]'
}

# edit_bundle JQ-EXPRESSION FILE: the anchors bundle edited as
# docs/identity.md says, with FILE as $new (labels kept: still Weft's).
edit_bundle() {
  k -n weft-system get configmap weft-identity-trust-anchors -o json |
    jq --rawfile new "$2" "$1" | k replace -f - >/dev/null || fail "update the anchors bundle"
}

# document_anchors_are FILE: the proxy document of $ns carries exactly the
# anchors of FILE (compared without whitespace).
document_anchors_are() {
  local want
  want=$(tr -d ' \n' <"$1" | jq -Rs .)
  config_has "(.identity.trustAnchorsPem | gsub(\"[ \\n]\"; \"\")) == $want"
}

# anchors_updates POD: how many times its proxy took a new bundle while its
# leaf stayed valid (its log).
anchors_updates() {
  k -n "$ns" logs "$1" -c weft-proxy | grep -c '"trust anchors updated' || true
}

# refreshes POD: certificates the pod's proxy obtained.
refreshes() {
  proxy_metrics "$1" | metric_sum identity_cert_refresh_total 'result="success"'
}

# expiration POD: the notAfter of the pod's proxy's leaf (Unix seconds).
expiration() {
  proxy_metrics "$1" | awk '$1 == "identity_cert_expiration_timestamp_seconds" { printf "%d\n", $2 }'
}

# connection_counts POD: three counters of the pod's proxy: outbound mTLS
# connections it opened, connections its app opened to it (outbound), and
# pooled connections it retired itself (idle too long, over the cap).
connection_counts() {
  local metrics
  metrics=$(proxy_metrics "$1")
  echo "$(metric_sum tcp_tls_connections_total 'direction="outbound"' 'tls="true"' <<<"$metrics")" \
    "$(metric_sum tcp_open_total 'direction="outbound"' <<<"$metrics")" \
    "$(($(metric_sum upstream_pool_closed_total 'reason="idle_expired"' <<<"$metrics") +
      $(metric_sum upstream_pool_closed_total 'reason="over_cap"' <<<"$metrics")))"
}

# no_failed_requests STEP: the steady load has had no failed request so far.
no_failed_requests() {
  local failed ok
  failed=$(steady_outcomes failed) ok=$(steady_outcomes 200)
  echo "$1 (${SECONDS}s): $ok requests answered 200, $failed failed"
  ((failed == 0)) || fail "$1: $failed requests failed: $(pod_metrics steady 9090 | grep weft_load_requests_total)"
}

check_rotation() {
  mesh_namespace mesh-rotation
  trap cleanup EXIT
  install_weft
  node_netns=$(node_var node_netns)
  # Short leaves (renewed every ~21 s at 70 %) and a pass over the Secrets
  # every 2 s, for this test only.
  identity_with "--leaf-lifetime=$leaf_lifetime" --resync-interval=2s
  echo "weft-identity: leaves of $leaf_lifetime, a pass every 2s"

  deploy_samples 01-services.yaml
  deploy_samples backend.yaml 's/ *- --failure-rate=0.2$//'
  k -n "$ns" scale deployment/backend-v2 --replicas 0 >/dev/null
  wait_rolled_out backend-v1
  eventually 60 "backend's endpoint meshed in the proxy config" config_has "
    [.outbound.services[] | select(.name == \"backend\") | .ports[].endpoints[].identity]
      == [\"spiffe://cluster.local/ns/$ns/sa/backend\"]"
  # 25 requests/s over 4 connections, at most 15,000 requests (10 minutes).
  start_steady_load --rate 25 --concurrency 4 --requests 15000 --timeout 5s http://backend:8080/
  local backend backend_ip steady_ip
  backend=$(pod_of backend v1)
  backend_ip=$(k -n "$ns" get pod "$backend" -o jsonpath='{.status.podIP}')
  steady_ip=$(k -n "$ns" get pod steady -o jsonpath='{.status.podIP}')
  # Each proxy is read where it terminates meshed TLS: the backend's on the
  # app's port, the load pod's on its metrics port (captured inbound too).
  local -A ip=([backend]=$backend_ip [steady]=$steady_ip) port=([backend]=8080 [steady]=9090)
  local -A path=([backend]=/ [steady]=/metrics) pod=([backend]=$backend [steady]=steady)
  local proxy

  secret_field weft-identity-trust-anchor tls.crt "$work/old.crt"
  secret_field weft-identity-trust-anchor tls.key "$work/old.key"
  secret_field weft-identity-issuer tls.crt "$work/issuer-1.crt"
  for proxy in backend steady; do
    eventually 60 "$proxy's proxy presents a leaf of the installed chain" \
      proxy_leaf_chains_to "$proxy" "${ip[$proxy]}" "${port[$proxy]}" "$work/issuer-1.crt" "$work/old.crt"
  done

  # 1. Leaf renewal: each proxy gets at least two new leaves under load.
  local -A refreshed expires serials
  for proxy in backend steady; do
    refreshed[$proxy]=$(refreshes "${pod[$proxy]}")
    expires[$proxy]=$(expiration "${pod[$proxy]}")
    serials[$proxy]=$(serial "$work/$proxy.pem")
  done
  local -a connections_before connections_after
  read -r -a connections_before <<<"$(connection_counts steady)"
  renewed_twice() { (($(refreshes "${pod[$1]}") >= refreshed[$1] + 2)); }
  for proxy in backend steady; do
    eventually 120 "$proxy's proxy renewing its leaf twice" renewed_twice "$proxy"
    proxy_leaf "$proxy" "${ip[$proxy]}" "${port[$proxy]}" || fail "read $proxy's leaf"
    [[ $(serial "$work/$proxy.pem") != "${serials[$proxy]}" ]] ||
      fail "$proxy's proxy still presents its first leaf"
    (($(expiration "${pod[$proxy]}") > expires[$proxy])) ||
      fail "$proxy's proxy: identity_cert_expiration_timestamp_seconds did not move"
    echo "1. $proxy's proxy: certificates obtained ${refreshed[$proxy]} -> $(refreshes "${pod[$proxy]}"), serial ${serials[$proxy]} -> $(serial "$work/$proxy.pem")"
  done
  # Pooled connections outlive a renewal on either side: the load's proxy
  # opens a connection only when its app opens one more (the load grows to
  # its concurrency lazily) or when it retired a pooled one itself. A
  # connection a renewal closed would be one more than that.
  read -r -a connections_after <<<"$(connection_counts steady)"
  local opened=$((connections_after[0] - connections_before[0]))
  local app_opened=$((connections_after[1] - connections_before[1]))
  local retired=$((connections_after[2] - connections_before[2]))
  echo "1. while the leaves renewed, the load's proxy opened $opened mTLS connections" \
    "(its app opened $app_opened connections to it; it retired $retired pooled ones)"
  ((opened <= app_opened + retired)) ||
    fail "the load's proxy opened $opened mTLS connections while the leaves renewed, more than the $app_opened + $retired its app and pool explain"
  no_failed_requests "1. leaf renewal"

  # 2. Issuer rotation: delete the issuer; weft-identity makes another from
  # the same anchor and the proxies' next leaves chain through it.
  k -n weft-system delete secret weft-identity-issuer >/dev/null || fail "delete the issuer Secret"
  new_issuer() {
    secret_field weft-identity-issuer tls.crt "$work/issuer-2.crt" &&
      [[ $(serial "$work/issuer-2.crt") != "$(serial "$work/issuer-1.crt")" ]]
  }
  eventually 60 "a new issuer Secret" new_issuer
  for proxy in backend steady; do
    eventually 90 "$proxy's proxy presenting a leaf of the new issuer" \
      proxy_leaf_chains_to "$proxy" "${ip[$proxy]}" "${port[$proxy]}" "$work/issuer-2.crt" "$work/old.crt"
  done
  echo "2. new issuer serial $(serial "$work/issuer-2.crt"); both proxies present leaves it signed"
  no_failed_requests "2. issuer rotation"

  # 3a. A new anchor joins the bundle beside the old one; the proxies take it
  # without a new leaf, and then trust clients of either anchor.
  make_anchor new-root
  make_probe_client old
  make_probe_client new-root
  for proxy in backend steady; do
    accepts_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" old ||
      fail "$proxy's proxy refuses a client of the installed anchor"
    refuses_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" new-root ||
      fail "$proxy's proxy accepts a client of an anchor not yet in the bundle"
  done
  local -A updates
  for proxy in backend steady; do updates[$proxy]=$(anchors_updates "${pod[$proxy]}"); done
  { bundle_anchors | sed '/^$/d' && cat "$work/new-root.crt"; } >"$work/bundle-both.pem"
  edit_bundle '.data["ca-bundle.crt"] |= rtrimstr("\n") + "\n" + $new' "$work/new-root.crt"
  eventually 60 "both anchors in the proxy document" document_anchors_are "$work/bundle-both.pem"
  took_bundle() { (($(anchors_updates "${pod[$1]}") > updates[$1])); }
  for proxy in backend steady; do
    eventually 60 "$proxy's proxy taking the two-anchor bundle" took_bundle "$proxy"
    eventually 30 "$proxy's proxy accepting a client of the new anchor" \
      accepts_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" new-root
    accepts_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" old ||
      fail "$proxy's proxy refuses a client of the old anchor with both in the bundle"
  done
  echo "3a. both proxies trust the old and the new anchor"
  no_failed_requests "3a. new anchor in the bundle"

  # 3b. The new anchor (with its key, Weft's label) in the anchor Secret, and
  # the issuer deleted: weft-identity makes an issuer from the new anchor; the
  # proxies' next leaves chain to it, and so does weft-identity's own serving
  # certificate.
  k -n weft-system create secret generic weft-identity-trust-anchor --type kubernetes.io/tls \
    --from-file=tls.crt="$work/new-root.crt" --from-file=tls.key="$work/new-root.key" \
    --from-file=ca.crt="$work/new-root.crt" --dry-run=client -o json |
    jq '.metadata.labels["app.kubernetes.io/managed-by"] = "weft-identity"' |
    k replace -f - >/dev/null || fail "replace the anchor Secret"
  k -n weft-system delete secret weft-identity-issuer >/dev/null || fail "delete the issuer Secret"
  issuer_of_new_anchor() {
    secret_field weft-identity-issuer tls.crt "$work/issuer-3.crt" &&
      openssl verify -CAfile "$work/new-root.crt" "$work/issuer-3.crt" >/dev/null 2>&1
  }
  eventually 60 "an issuer from the new anchor" issuer_of_new_anchor
  for proxy in backend steady; do
    eventually 90 "$proxy's proxy presenting a leaf of the new anchor" \
      proxy_leaf_chains_to "$proxy" "${ip[$proxy]}" "${port[$proxy]}" "$work/issuer-3.crt" "$work/new-root.crt"
    ! leaf_chains_to "$work/$proxy.pem" "$work/issuer-2.crt" "$work/old.crt" ||
      fail "$proxy's leaf still verifies against the old anchor"
  done
  serving_of_new_anchor() {
    local pod_ip
    for pod_ip in $(k -n weft-system get pods -l app.kubernetes.io/name=weft-identity \
      -o jsonpath='{.items[*].status.podIP}'); do
      presented_chain "$pod_ip" 8443 "$work/serving.pem" &&
        leaf_chains_to "$work/serving.pem" "$work/issuer-3.crt" "$work/new-root.crt" || return 1
    done
  }
  eventually 60 "weft-identity serving with a certificate of the new anchor" serving_of_new_anchor
  echo "3b. issuer $(serial "$work/issuer-3.crt") from the new anchor; both proxies and weft-identity present leaves of it"
  no_failed_requests "3b. new issuer from the new anchor"

  # 3c. The old anchor leaves the bundle: the proxies take it (their leaves
  # verify against the new anchor alone), refuse clients of the old anchor,
  # still accept the new, and keep renewing.
  for proxy in backend steady; do
    updates[$proxy]=$(anchors_updates "${pod[$proxy]}")
    refreshed[$proxy]=$(refreshes "${pod[$proxy]}")
  done
  unknown_authority() {
    proxy_metrics "$backend" |
      metric_sum tls_handshake_failures_total 'direction="inbound"' 'reason="unknown_authority"'
  }
  local refused_before
  refused_before=$(unknown_authority)
  edit_bundle '.data["ca-bundle.crt"] = $new' "$work/new-root.crt"
  eventually 60 "only the new anchor in the proxy document" document_anchors_are "$work/new-root.crt"
  for proxy in backend steady; do
    eventually 60 "$proxy's proxy taking the new-anchor bundle" took_bundle "$proxy"
    eventually 30 "$proxy's proxy refusing a client of the old anchor" \
      refuses_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" old
    accepts_client "${ip[$proxy]}" "${port[$proxy]}" "${path[$proxy]}" new-root ||
      fail "$proxy's proxy refuses a client of the new anchor"
  done
  renewed_since() { (($(refreshes "${pod[$1]}") > refreshed[$1])); }
  for proxy in backend steady; do
    eventually 90 "$proxy's proxy renewing with only the new anchor" renewed_since "$proxy"
  done
  local refused=$(($(unknown_authority) - refused_before))
  echo "3c. the old anchor is gone from both proxies (backend refused $refused old-anchor handshakes: unknown_authority); leaves still renew"
  ((refused >= 1)) || fail "backend's proxy counted no unknown_authority handshake"
  no_failed_requests "3c. old anchor removed"
}

case "${1:-}" in
  rotation)
    "check_$1"
    ;;
  *)
    echo "usage: rotation_test.sh rotation" >&2
    exit 2
    ;;
esac
echo "PASS $1"
