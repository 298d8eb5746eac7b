#!/usr/bin/env bash
# `local-cluster down` of a node cluster removes everything `up --node` and its pods
# made on the machine: processes, network namespaces, links, routes, iptables
# rules, mounts, cgroups, files outside the cluster directory, the directory itself.
# Uses a cluster of its own ($WEFT_CLUSTER_DIR) beside the fixture's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KUBECONFIG=$WEFT_CLUSTER_DIR/kubeconfig
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
skip_unless_root

work=$(mktemp -d)
cleanup() {
  "$cluster" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# machine_state: what the cluster could leave behind, minus the parts other clusters
# running beside this one own (filtered by this cluster's directory and index).
machine_state() {
  local n=$1
  echo "## netns"
  ip netns list | awk '{print $1}' | grep -x "weft-node-$n" || true
  echo "## links"
  ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -x "weft-n$n" || true
  echo "## routes"
  ip -4 route | grep -E "10\.(243|244|96)\.$n\." || true
  echo "## iptables (root namespace: nothing of a node's may appear)"
  iptables-save | grep -E "KUBE-|CNI-|10\.(243|244|96)\.$n\." || true
  echo "## mounts"
  awk -v d="$WEFT_CLUSTER_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
  echo "## cgroups"
  ls -d /sys/fs/cgroup/*/"weft-node-$n" 2>/dev/null || true
  echo "## processes"
  pgrep -af -- "$WEFT_CLUSTER_DIR" | grep -v -e "$$" -e pgrep || true
  echo "## files"
  ls -A "$WEFT_CLUSTER_DIR" 2>/dev/null || true
  find /var/log/containers -lname "$WEFT_CLUSTER_DIR/*" 2>/dev/null || true
}

"$cluster" down >/dev/null 2>&1 || true
"$cluster" up --node --images "${WEFT_E2E_IMAGES_DIR:-${WEFT_E2E_BUILD_DIR:-$repo/build}/images}" >/dev/null
n=$(<"$WEFT_CLUSTER_DIR/run/node-network")
python3 "$repo/images/build_image.py" "$here/busybox.json" --build-dir "$work" --out "$work/busybox.oci.tar" >/dev/null
"$cluster" import-image "$work/busybox.oci.tar" "$E2E_IMAGE"

# Pods with every kind of state a node makes: a sandbox and its network namespace,
# an emptyDir, a projected service-account token (tmpfs), a ConfigMap volume, logs.
k create configmap settings --from-literal=greeting=hi >/dev/null
k apply -f - >/dev/null <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata: {name: busy, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: busy}}
  template:
    metadata: {labels: {app: busy}}
    spec:
      containers:
      - name: busy
        image: $E2E_IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "cat /settings/greeting; exec /bin/busybox httpd -f -p 8080 -h /settings"]
        volumeMounts:
        - {name: settings, mountPath: /settings}
        - {name: scratch, mountPath: /scratch}
      volumes:
      - {name: settings, configMap: {name: settings}}
      - {name: scratch, emptyDir: {medium: Memory}}
---
apiVersion: v1
kind: Service
metadata: {name: busy, namespace: default}
spec:
  selector: {app: busy}
  ports: [{port: 80, targetPort: 8080}]
EOF2
k rollout status deployment/busy --timeout 120s >/dev/null || fail "Deployment busy not rolled out"

running=$(machine_state "$n")
# The state must be visible while the cluster runs, or the comparison proves nothing.
for part in "^weft-node-$n\$" "^weft-n$n\$" "10\.244\.$n\.0/24" "/kubelet/pods/" "weft-node-$n\$" "containerd-shim"; do
  grep -qE -- "$part" <<<"$running" || fail "expected '$part' in the running cluster's state:
$running"
done
node_rules=$(ip netns exec "weft-node-$n" iptables-save)
[[ $node_rules == *KUBE-SERVICES* ]] || fail "kube-proxy's chains are missing in the node"

# The sandboxes and containers, to look for their traces outside the cluster dir.
socket=$WEFT_CLUSTER_DIR/containerd/containerd.sock
mapfile -t ids < <(ctr --address "$socket" -n k8s.io containers ls -q)
((${#ids[@]} >= 4)) || fail "expected at least 2 sandboxes and 2 containers, got ${#ids[@]}"
cached=0
for id in "${ids[@]}"; do
  if compgen -G "/var/lib/cni/results/*-$id-*" >/dev/null; then cached=$((cached + 1)); fi
done
((cached >= 2)) || fail "expected libcni's cache to hold our 2 sandboxes, found $cached"

"$cluster" down
after=$(machine_state "$n")
for id in "${ids[@]}"; do
  if compgen -G "/var/lib/cni/results/*-$id-*" >/dev/null; then fail "libcni's cache still holds $id"; fi
  hash=$(printf '%s' "$socket/k8s.io/$id" | sha256sum)
  [[ ! -e /run/containerd/s/${hash%% *} ]] || fail "the shim socket of $id is left"
done
expected=$'## netns\n## links\n## routes\n## iptables (root namespace: nothing of a node\'s may appear)\n## mounts\n## cgroups\n## processes\n## files'
[[ $after == "$expected" ]] || fail "left behind after down:
$after"
[[ ! -e $WEFT_CLUSTER_DIR ]] || fail "$WEFT_CLUSTER_DIR still exists"
# The kernel settings the kubelet changed are back once no node runs any more.
if ! compgen -G "/run/netns/weft-node-*" >/dev/null; then
  [[ ! -e /run/weft-local-cluster-host-state ]] || fail "the saved machine state (kernel settings) was not restored"
  [[ ! -e /var/lib/kubelet/device-plugins/kubelet.sock ]] || fail "the kubelet's device-plugin socket is left"
fi
echo "down removed everything of node network $n"
