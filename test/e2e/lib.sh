# shellcheck shell=bash
# The variables are for the scripts that source this file.
# shellcheck disable=SC2034
# Helpers of the e2e tests (sourced): kubectl on the node cluster, waiting, and the
# test image. Every test runs against $WEFT_CLUSTER_DIR (the node-cluster fixture).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster=$repo/scripts/local-cluster
export KUBECONFIG=${KUBECONFIG:-$WEFT_CLUSTER_DIR/kubeconfig}
KUBECTL=${KUBECTL:-$("$repo/scripts/build-k8s" --bin-dir)/kubectl}
# Test-only image with Debian's static busybox (sh, httpd, wget, nc), imported into
# the node by the fixture; never pulled.
E2E_IMAGE=docker.io/weft/e2e-busybox:0.1.0

k() { "$KUBECTL" "$@"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip_unless_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: the node cluster needs root" >&2
    exit 77
  fi
}

# eventually SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.5 s until it
# succeeds; fails with DESCRIPTION after SECONDS.
eventually() {
  local limit=$1 what=$2 end
  shift 2
  end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || fail "$what: not within ${limit}s"
    sleep 0.5
  done
}

# test_namespace PREFIX: a fresh namespace, deleted when the test exits.
test_namespace() {
  ns=$1-$$
  k create namespace "$ns" >/dev/null
  trap 'k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
}

# node_var NAME: one variable of the node network (scripts/node/network.sh).
node_var() {
  (
    cluster_dir=$WEFT_CLUSTER_DIR
    # shellcheck source=SCRIPTDIR/../../scripts/node/network.sh
    source "$repo/scripts/node/network.sh"
    node_network_load || exit 1
    echo "${!1}"
  )
}

# pod_netns NAMESPACE POD: the path of the pod's network namespace on the node.
pod_netns() {
  local id
  id=$(ctr --address "$WEFT_CLUSTER_DIR/containerd/containerd.sock" -n k8s.io containers ls -q \
    "labels.\"io.kubernetes.pod.namespace\"==$1,labels.\"io.kubernetes.pod.name\"==$2,labels.\"io.cri-containerd.kind\"==sandbox" | head -n1)
  [[ -n $id ]] || return 1
  ctr --address "$WEFT_CLUSTER_DIR/containerd/containerd.sock" -n k8s.io containers info "$id" |
    jq -r '.Spec.linux.namespaces[] | select(.type == "network") | .path'
}
