# shellcheck shell=bash
# Variables cross between this file and scripts/local-cluster, which sources it.
# shellcheck disable=SC2034,SC2154
# The one-node cluster's node (sourced by scripts/local-cluster): containerd and runc
# from Debian, the CNI plugins, the kubelet and kube-proxy, all in the node network
# namespace (scripts/node/network.sh), every file under the cluster directory.
#
# Outside the cluster directory the node changes only what it must, and `down`
# restores it: the network namespace and its veth pair and routes, a cgroup
# /weft-node-N in each cgroup v1 hierarchy, the kubelet's symbolic links in
# /var/log/containers, libcni's result cache in /var/lib/cni/results, and six kernel
# settings the kubelet insists on, and the kubelet's device-plugin socket (the
# machine's state is saved before the first node starts and restored when the last
# one stops).

cni_bin_dir=/usr/lib/cni
node_name=weft-node
# The images every node needs before its kubelet starts (scripts/build-images).
sandbox_image=docker.io/weft/pause:0.1.0
# What the machine looked like before the first node started (restored by the last).
host_state_file=/run/weft-local-cluster-host-state
kernel_tunables=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
# Fixed paths the kubelet, libcni and containerd's shims use whatever their
# configuration says; removed (when empty) after the last node if they were absent.
host_dirs=(/var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd)
# The kubelet's device-plugin socket, always under /var/lib/kubelet.
kubelet_device_plugin_socket=/var/lib/kubelet/device-plugins/kubelet.sock
# The kubelet's fixed directory of log links (not configurable).
container_log_links=/var/log/containers
cni_cache_dir=/var/lib/cni/results

node_ctr() { ctr --address "$cluster_dir/containerd/containerd.sock" --namespace k8s.io "$@"; }

# --- configuration ---------------------------------------------------------------

write_node_config() {
  local cfg="$cluster_dir/node"
  mkdir -p "$cfg" "$cluster_dir"/{containerd,kubelet,cni/net.d,cni/ipam,pod-logs}

  # Pods resolve no name through the machine's resolver: their DNS stays on the node.
  printf 'nameserver 127.0.0.1\noptions ndots:1\n' >"$cfg/resolv.conf"

  cat >"$cluster_dir/cni/net.d/10-weft-node.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$node_netns",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$node_bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$cluster_dir/cni/ipam",
        "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gateway"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF

  cat >"$cluster_dir/containerd/config.toml" <<EOF
version = 2
root = "$cluster_dir/containerd/root"
state = "$cluster_dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$cluster_dir/containerd/containerd.sock"

[ttrpc]
  address = "$cluster_dir/containerd/containerd-ttrpc.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$cluster_dir/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox_image"
  # exec, attach and port-forward streams: loopback of the node namespace.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE (as in this container) no process may lower its OOM
  # score below containerd's; the kubelet's negative scores are raised to it.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pod network namespaces under the state directory, not in the machine's /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$cluster_dir/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin_dir"
    conf_dir = "$cluster_dir/cni/net.d"
    max_conf_num = 1
EOF

  cat >"$cfg/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.34 still runs on cgroup v1 when asked to.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: $node_cgroup
containerRuntimeEndpoint: unix://$cluster_dir/containerd/containerd.sock
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $cluster_dir/pki/kubelet-serving.crt
tlsPrivateKeyFile: $cluster_dir/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $cluster_dir/pki/ca.crt}
authorization:
  mode: Webhook
resolvConf: $cfg/resolv.conf
clusterDomain: cluster.local
podLogsDir: $cluster_dir/pod-logs
# The disk is shared with other work: evict only when it is really full, and never
# collect images, which cannot be pulled again here.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF

  cat >"$cfg/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $cluster_dir/pki/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $node_name
clusterCIDR: $pod_cidr
bindAddress: $node_ip
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables:
  masqueradeAll: false
# 0: leave the machine's conntrack table size and timeouts as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

# make_node_pki: the node's certificates, signed by the cluster CA (after make_pki).
make_node_pki() {
  local pki="$cluster_dir/pki"
  sign kubelet "/O=system:nodes/CN=system:node:$node_name"
  sign kubelet-serving "/CN=$node_name" "IP:$node_ip,DNS:$node_name"
  sign kube-proxy "/CN=system:kube-proxy"
  sign scheduler "/CN=system:kube-scheduler"
  # The apiserver's client identity towards the kubelet (logs, exec, port-forward).
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  write_kubeconfig "$pki/kubelet.kubeconfig" kubelet
  write_kubeconfig "$pki/kube-proxy.kubeconfig" kube-proxy
  write_kubeconfig "$pki/scheduler.kubeconfig" scheduler
}

# --- host state ------------------------------------------------------------------

# cgroup_hierarchies: the mount point of every cgroup hierarchy (v1, and the v2
# one a hybrid machine mounts beside them, where runc makes cgroups too).
cgroup_hierarchies() {
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts
}

# make_node_cgroups: the kubelet's cgroupRoot must exist in every hierarchy.
make_node_cgroups() {
  local h
  while read -r h; do
    mkdir -p "$h$node_cgroup"
    # A new cpuset starts with no CPUs and memory nodes; it takes its parent's.
    if [[ -f $h/cpuset.cpus ]]; then
      cat "$h/cpuset.cpus" >"$h$node_cgroup/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$node_cgroup/cpuset.mems"
    fi
  done < <(cgroup_hierarchies)
}

# remove_node_cgroups: kills what is left in the node's cgroups, then removes them.
remove_node_cgroups() {
  local h pid dir
  for _ in 1 2 3 4 5; do
    while read -r h; do
      [[ -d $h$node_cgroup ]] || continue
      while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < <(find "$h$node_cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done < <(cgroup_hierarchies)
    local left=0
    while read -r h; do
      [[ -d $h$node_cgroup ]] || continue
      while read -r dir; do rmdir "$dir" 2>/dev/null || left=1; done < <(find "$h$node_cgroup" -depth -type d)
    done < <(cgroup_hierarchies)
    ((left == 0)) && return 0
    sleep 0.5
  done
  log "warning: some cgroups under $node_cgroup could not be removed"
}

# save_host_state: the kubelet sets six kernel settings; the first node to start
# saves the machine's values, and which fixed directories did not exist, under the
# node lock.
save_host_state() {
  local lock_fd t d
  exec {lock_fd}>"$node_lock_file"
  flock "$lock_fd"
  if [[ ! -f $host_state_file ]]; then
    {
      for t in "${kernel_tunables[@]}"; do echo "tunable $t $(<"/proc/sys/$t")"; done
      for d in "${host_dirs[@]}"; do [[ -e $d ]] || echo "absent $d"; done
    } >"$host_state_file"
  fi
  exec {lock_fd}>&-
}

# remove_stale_cni_results: once no node runs, every libcni result of a node's
# network (weft-node-N-<sandbox>-eth0, with its cni-loopback-<sandbox>-lo) is left
# over from a node that could not clean up after itself.
remove_stale_cni_results() {
  local f id
  for f in "$cni_cache_dir"/weft-node-*-eth0; do
    [[ -e $f ]] || continue
    id=${f%-eth0}
    id=${id##*-}
    rm -f "$f" "$cni_cache_dir/cni-loopback-$id-lo"
  done
}

# restore_host_state: the last node to stop puts the saved values back and removes
# the fixed directories the nodes created, when nothing else is left in them.
restore_host_state() {
  local lock_fd kind what value
  exec {lock_fd}>"$node_lock_file"
  flock "$lock_fd"
  if [[ -f $host_state_file && $(node_networks_running) -eq 0 ]]; then
    remove_stale_cni_results
    while read -r kind what value; do
      case "$kind" in
        tunable) echo "$value" >"/proc/sys/$what" || true ;;
        absent)
          if [[ $what == /var/lib/kubelet ]]; then rm -f "$kubelet_device_plugin_socket"; fi
          find "$what" -depth -type d -empty -delete 2>/dev/null || true
          ;;
      esac
    done <"$host_state_file"
    rm -f "$host_state_file"
  fi
  exec {lock_fd}>&-
}

# --- images ----------------------------------------------------------------------

# import_images DIR: every archive listed in DIR/images.txt into containerd's k8s.io
# namespace, unpacked for the CRI snapshotter, and checked under its reference.
import_images() {
  local dir=$1 ref file
  [[ -f $dir/images.txt ]] || die "no $dir/images.txt (scripts/build-images --out $dir writes it)"
  grep -q "^$sandbox_image " "$dir/images.txt" || die "$dir/images.txt lacks the sandbox image $sandbox_image"
  while read -r ref file; do
    [[ -n $ref ]] || continue
    [[ $file == /* ]] || file="$dir/$file"
    import_image "$file" "$ref"
  done <"$dir/images.txt"
}

# import_image FILE REF: one OCI archive, which must carry REF.
import_image() {
  local file=$1 ref=$2
  node_ctr images import --snapshotter overlayfs "$file" >/dev/null ||
    die "importing $file into containerd failed"
  local refs
  refs=$(node_ctr images ls -q)
  grep -qx "$ref" <<<"$refs" || die "$file did not import as $ref"
}

# --- processes -------------------------------------------------------------------

start_node_runtime() {
  make_node_cgroups
  start containerd "${in_node_cmd[@]}" containerd --config "$cluster_dir/containerd/config.toml"
  wait_until "containerd" node_ctr version
}

start_node_agents() {
  save_host_state
  start kubelet "${in_node_cmd[@]}" "$bin/kubelet" --config "$cluster_dir/node/kubelet.yaml" \
    --kubeconfig "$cluster_dir/pki/kubelet.kubeconfig" \
    --root-dir "$cluster_dir/kubelet" \
    --hostname-override "$node_name" --node-ip "$node_ip"
  start kube-proxy "${in_node_cmd[@]}" "$bin/kube-proxy" --config "$cluster_dir/node/kube-proxy.yaml"
}

# stop_node_containers: kills every container of the node (the kubelet is stopped
# first, so nothing restarts them), then deletes their tasks.
stop_node_containers() {
  [[ -S $cluster_dir/containerd/containerd.sock ]] || return 0
  pid_of containerd >/dev/null || return 0
  local task
  while read -r task; do
    node_ctr tasks kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
  done < <(node_ctr tasks ls -q 2>/dev/null)
  while read -r task; do
    node_ctr tasks delete --force "$task" >/dev/null 2>&1 || true
  done < <(node_ctr tasks ls -q 2>/dev/null)
}

# stop_node_shims: containerd's shims outlive it; each names our socket.
stop_node_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $cluster_dir/containerd/containerd.sock" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# unmount_cluster_dir: every mount under the cluster directory, deepest first
# (the kubelet's volumes and root dir, containerd's rootfs, shm and netns mounts).
unmount_cluster_dir() {
  local mnt
  for _ in 1 2 3; do
    local mounts=()
    mapfile -t mounts < <(awk -v d="$cluster_dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    ((${#mounts[@]})) || return 0
    for mnt in "${mounts[@]}"; do umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; done
  done
  awk -v d="$cluster_dir/" 'index($5, d) == 1 { print "  still mounted: " $5 }' /proc/self/mountinfo >&2
}

# node_container_ids: every container and sandbox of this node: containerd's list,
# and the CRI plugin's directories (which outlive a containerd that died).
node_container_ids() {
  local cri="$cluster_dir/containerd/root/io.containerd.grpc.v1.cri"
  {
    if [[ -S $cluster_dir/containerd/containerd.sock ]] && pid_of containerd >/dev/null; then
      node_ctr containers ls -q 2>/dev/null || true
    fi
    ls "$cri/sandboxes" "$cri/containers" 2>/dev/null || true
  } | grep -E '^[0-9a-f]{64}$' | sort -u
}

# remove_node_host_files IDS...: what the kubelet, libcni and the shims wrote
# outside the cluster dir: log links into it, libcni's cached results of our
# sandboxes (<network>-<sandbox id>-<interface>), and the sockets of shims that were
# killed (containerd names them sha256(<containerd socket>/<namespace>/<id>)).
remove_node_host_files() {
  local id hash
  for id in "$@"; do
    hash=$(printf '%s' "$cluster_dir/containerd/containerd.sock/k8s.io/$id" | sha256sum)
    rm -f "/run/containerd/s/${hash%% *}"
  done
  if [[ -d $container_log_links ]]; then
    find "$container_log_links" -maxdepth 1 -type l -lname "$cluster_dir/*" -delete
  fi
  if [[ -d $cni_cache_dir ]]; then
    for id in "$@"; do find "$cni_cache_dir" -maxdepth 1 -name "*-$id-*" -delete; done
  fi
}

# node_stop: stops the kubelet, every container, kube-proxy and containerd. Sets
# `node_ids` to the containers that were there (for remove_node_host_files).
node_stop() {
  node_ids=()
  node_network_load || return 0
  stop_component kubelet
  mapfile -t node_ids < <(node_container_ids)
  stop_node_containers
  stop_component kube-proxy
  stop_component containerd
  stop_node_shims
}

# node_cleanup: removes everything the stopped node made outside the files of the
# cluster directory. Runs after the control plane stopped: the apiserver listens on
# the node's link, which goes with the network. Safe to run twice and on a
# half-started node.
node_cleanup() {
  node_network_load || return 0
  remove_node_cgroups
  unmount_cluster_dir
  node_network_down
  remove_node_host_files "${node_ids[@]}"
  restore_host_state
}
