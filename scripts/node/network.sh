# shellcheck shell=bash
# Variables cross between this file and scripts/local-cluster, which sources it.
# shellcheck disable=SC2034,SC2154
# The one-node cluster's network (sourced by scripts/local-cluster).
#
# The node (containerd, kubelet, kube-proxy and every pod behind them) lives in a
# network namespace of its own, weft-node-N, joined to the root namespace by one
# veth pair. N is the first index free on this machine, so two node clusters run
# side by side without sharing a bridge, an address range or an iptables chain:
#
#   root namespace                       weft-node-N
#   kube-apiserver 10.243.N.1 ── veth ── 10.243.N.2 weft-uplink (node IP, kubelet :10250)
#   routes 10.244.N.0/24, 10.96.N.0/24     bridge weft0 10.244.N.1/24 ── pods 10.244.N.x
#          via 10.243.N.2                  unreachable default: nothing routes out
#
# No packet leaves the machine: the node namespace has no default route (an
# `unreachable` one instead), the root namespace does not forward (its ip_forward
# is left as it is, 0 here) and only sends the pod and service ranges into the node
# namespace; pod traffic is never masqueraded towards the outside.

node_lock_file=/run/weft-local-cluster-node.lock
node_netns_dir=/run/netns

# node_network_vars N: sets every name and address of node network N.
node_network_vars() {
  node_index=$1
  node_netns=weft-node-$node_index
  host_link=weft-n$node_index
  node_link=weft-uplink
  node_bridge=weft0
  link_host_ip=10.243.$node_index.1
  node_ip=10.243.$node_index.2
  pod_cidr=10.244.$node_index.0/24
  pod_gateway=10.244.$node_index.1
  service_cidr=10.96.$node_index.0/24
  # The first address of the service range: the `kubernetes` Service.
  service_apiserver_ip=10.96.$node_index.1
  node_cgroup=/weft-node-$node_index
  in_node_cmd=(nsenter --net="$node_netns_dir/$node_netns")
}

# in_node COMMAND...: runs COMMAND in the node's network namespace only (not
# `ip netns exec`, which would also give it a mount namespace of its own and hide
# the kubelet's volume mounts from containerd).
in_node() { "${in_node_cmd[@]}" "$@"; }

# node_network_index_free N: true when nothing on this machine uses network N.
node_network_index_free() {
  local n=$1
  [[ ! -e $node_netns_dir/weft-node-$n ]] || return 1
  ! ip link show "weft-n$n" >/dev/null 2>&1 || return 1
  local routes
  routes=$(ip -4 route show)
  ! grep -q -E "^(10\.243\.$n\.|10\.244\.$n\.|10\.96\.$n\.)" <<<"$routes" || return 1
}

# node_network_up: picks a free index, creates the namespace, the veth pair, the
# bridge and the routes, and records the index in run/node-network.
node_network_up() {
  local n lock_fd
  exec {lock_fd}>"$node_lock_file"
  flock "$lock_fd"
  for n in $(seq 1 200); do
    node_network_index_free "$n" && break
  done
  node_network_index_free "$n" || die "no free node network index (1-200) on this machine"
  node_network_vars "$n"
  # The namespace reserves the index, so it is made before the lock is released.
  ip netns add "$node_netns"
  echo "$node_index" >"$cluster_dir/run/node-network"
  exec {lock_fd}>&-

  ip link add "$host_link" type veth peer name "$node_link" netns "$node_netns"
  ip addr add "$link_host_ip/30" dev "$host_link"
  ip link set "$host_link" up
  in_node ip link set lo up
  in_node ip addr add "$node_ip/30" dev "$node_link"
  in_node ip link set "$node_link" up
  # The bridge exists before any pod so the service route below has a device; the
  # CNI bridge plugin adopts it.
  in_node ip link add "$node_bridge" type bridge
  in_node ip addr add "$pod_gateway/24" dev "$node_bridge"
  in_node ip link set "$node_bridge" up
  in_node ip route add unreachable default
  # Locally sent packets need a route before kube-proxy's OUTPUT DNAT rewrites a
  # service address into a pod address; one that is not rewritten dies on the bridge.
  in_node ip route add "$service_cidr" dev "$node_bridge"
  # The node namespace routes between pods, the bridge and the uplink; pod-to-service
  # replies on the same bridge must pass iptables to be un-NATed.
  in_node sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  ip route add "$pod_cidr" via "$node_ip" dev "$host_link"
  ip route add "$service_cidr" via "$node_ip" dev "$host_link"
}

# node_network_load: sets the variables of the network recorded by `up`, if any.
node_network_load() {
  local file="$cluster_dir/run/node-network"
  [[ -f $file ]] || return 1
  node_network_vars "$(<"$file")"
}

# node_network_down: removes the routes, the veth pair and the namespace. Deleting
# the namespace deletes everything in it: the bridge, the pods' host-side veths and
# every iptables chain kube-proxy and the CNI plugins made there.
node_network_down() {
  node_network_load || return 0
  ip route del "$pod_cidr" via "$node_ip" dev "$host_link" 2>/dev/null || true
  ip route del "$service_cidr" via "$node_ip" dev "$host_link" 2>/dev/null || true
  ip link del "$host_link" 2>/dev/null || true
  if [[ -e $node_netns_dir/$node_netns ]]; then
    ip netns delete "$node_netns"
  fi
}

# node_networks_running: how many node namespaces of any cluster exist.
node_networks_running() {
  local count=0 f
  for f in "$node_netns_dir"/weft-node-*; do [[ -e $f ]] && count=$((count + 1)); done
  echo "$count"
}
