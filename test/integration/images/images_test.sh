#!/usr/bin/env bash
# Weft's container images, tested with real tools: scripts/build-images, umoci,
# runc (as root, in fresh containers) and a private containerd under the test's
# own directory. No cluster is needed.
#   images_test.sh build        BUILD_DIR WORK_DIR   archives of the build's programs
#   images_test.sh reproducible BUILD_DIR WORK_DIR   a second build is byte-identical
#   images_test.sh config       BUILD_DIR WORK_DIR   layout, digests, labels, User
#   images_test.sh bad-definitions BUILD_DIR WORK_DIR a clear error, nothing written
#   images_test.sh run NAME     BUILD_DIR WORK_DIR   the image runs in runc
#   images_test.sh serve NAME   BUILD_DIR WORK_DIR   weft-proxy/weft-webhook serve in runc
#   images_test.sh containerd   BUILD_DIR WORK_DIR   `ctr images import` names each image
# `build` writes WORK_DIR/first (the ctest fixture); the others read it.
set -euo pipefail
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
test_dir=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
skip=77

usage="images_test.sh build|reproducible|config|bad-definitions|run NAME|serve NAME|containerd"
command=${1:?usage: $usage BUILD_DIR WORK_DIR}
shift
name=""
if [[ $command == run || $command == serve ]]; then
  name=${1:?$command needs an image name}
  shift
fi
build_dir=${1:?missing BUILD_DIR}
work_dir=${2:?missing WORK_DIR}
images=$work_dir/first
version=$(sed -n 's/^project(weft VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")

fail() { echo "FAIL: $*" >&2; exit 1; }
need_root() {
  if [[ $(id -u) -ne 0 ]]; then echo "SKIP: runc and containerd need root" >&2; exit $skip; fi
}

# Every image whose program is in the build, as build-images decides.
expected_images() {
  local definition
  for definition in "$source_dir"/images/*.json; do
    if python3 "$source_dir/images/build_image.py" "$definition" --build-dir "$build_dir" \
      --check-program; then
      basename "$definition" .json
    fi
  done
}

test_build() {
  rm -rf "$images"
  "$source_dir/scripts/build-images" --build-dir "$build_dir" --out "$images" --no-build
  local image count=0
  for image in $(expected_images); do
    [[ -s $images/$image.oci.tar ]] || fail "no archive for $image"
    grep -q "^docker.io/weft/$image:$version $images/$image.oci.tar\$" "$images/images.txt" ||
      fail "images.txt has no line for $image"
    count=$((count + 1))
  done
  ((count >= 5)) || fail "only $count images (proxy, init, operator, webhook, pause at least)"
  [[ $(wc -l <"$images/images.txt") -eq $count ]] || fail "images.txt lists other images"
}

test_reproducible() {
  local second=$work_dir/second
  rm -rf "$second"
  "$source_dir/scripts/build-images" --build-dir "$build_dir" --out "$second" --no-build >/dev/null
  local ref file
  while read -r ref file; do
    cmp "$file" "$second/$(basename "$file")" || fail "$ref: the second build differs"
    echo "identical: $ref"
  done <"$images/images.txt"
  rm -rf "$second"
}

test_config() {
  python3 "$test_dir/check_images.py" "$images/images.txt" "$source_dir"
}

# ---------------------------------------------------------------- runc

cleanup_dirs=()
cleanup_containers=()
netns=""
runc_root=""
cleanup() {
  local id
  for id in "${cleanup_containers[@]}"; do
    runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [[ -n $netns ]]; then ip netns delete "$netns" 2>/dev/null || true; fi
  if ((${#cleanup_dirs[@]})); then rm -rf "${cleanup_dirs[@]}"; fi
}
trap cleanup EXIT

# unpack IMAGE DIR: DIR/bundle, a runc bundle made by umoci from the archive.
unpack() {
  mkdir -p "$2/layout"
  tar -xf "$images/$1.oci.tar" -C "$2/layout"
  umoci unpack --image "$2/layout:$version" "$2/bundle" >/dev/null
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

container_running() {
  runc --root "$runc_root" state "$1" 2>/dev/null | grep -q '"status": "running"'
}
container_pid() {
  runc --root "$runc_root" state "$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])'
}
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# The PIDs whose parent is $1 (zombies included, until reaped).
children_of() { ps -o pid= --ppid "$1" || true; }
no_children() { [[ -z $(children_of "$1") ]]; }
has_children() { [[ -n $(children_of "$1") ]]; }
process_gone() { ! kill -0 "$1" 2>/dev/null; }

# run_help IMAGE: the Entrypoint with --help exits 0 and prints its usage.
run_help() {
  local dir=$1 id=$2
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" -- --help
  local output
  output=$(runc --root "$runc_root" run --bundle "$dir/bundle" "$id" 2>&1) ||
    fail "$name --help in runc exited $?: $output"
  grep -qi "usage" <<<"$output" || fail "$name --help printed no usage: $output"
  echo "$name --help ran in runc"
}

# weft-init installs the capture rules in a network namespace the test made,
# with Debian's iptables-restore from the image, as root with only NET_ADMIN
# and NET_RAW, as the webhook injects it.
run_init() {
  local dir=$1 id=$2
  make_netns
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" --netns "/run/netns/$netns" \
    --capabilities CAP_NET_ADMIN,CAP_NET_RAW -- --proxy-uid 2102 --skip-subnets 10.96.0.0/12
  runc --root "$runc_root" run --bundle "$dir/bundle" "$id" || fail "weft-init in runc exited $?"
  local rules
  rules=$(ip netns exec "$netns" iptables-save -t nat)
  grep -q -- '-A WEFT_OUTBOUND -m owner --uid-owner 2102 -j RETURN' <<<"$rules" ||
    fail "the proxy UID exemption is not installed: $rules"
  grep -q -- '-A WEFT_OUTBOUND -d 10.96.0.0/12 -j RETURN' <<<"$rules" ||
    fail "the skipped subnet is not installed: $rules"
  grep -q -- '-j REDIRECT --to-ports 4140' <<<"$rules" || fail "no outbound redirect: $rules"
  echo "weft-init installed the capture rules with the image's iptables-restore"

  # A restarted init container replaces the rules (not appends), here through
  # the explicit --iptables-restore path of the nf_tables variant.
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" --netns "/run/netns/$netns" \
    --capabilities CAP_NET_ADMIN,CAP_NET_RAW -- --proxy-uid 2102 --skip-subnets 10.100.0.0/16 \
    --iptables-restore /usr/sbin/iptables-nft-restore
  runc --root "$runc_root" run --bundle "$dir/bundle" "$id" >/dev/null ||
    fail "weft-init --iptables-restore /usr/sbin/iptables-nft-restore exited $?"
  rules=$(ip netns exec "$netns" iptables-save -t nat)
  grep -q -- '-A WEFT_OUTBOUND -d 10.100.0.0/16 -j RETURN' <<<"$rules" ||
    fail "the second run's subnet is not installed: $rules"
  ! grep -q -- '10.96.0.0/12' <<<"$rules" || fail "the first run's rules were kept: $rules"
  [[ $(grep -c -- '--uid-owner 2102' <<<"$rules") -eq 1 ]] || fail "rules duplicated: $rules"
  echo "a second run replaced them, with --iptables-restore /usr/sbin/iptables-nft-restore"
}

# pause runs as 65532, reaps an orphan reparented to it, and exits 0 on SIGTERM.
run_pause() {
  local dir=$1 id=$2
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json"
  runc --root "$runc_root" run --bundle "$dir/bundle" "$id" </dev/null &
  local runc_pid=$!
  wait_for 30 container_running "$id" || fail "pause did not start"
  local pid
  pid=$(container_pid "$id")
  [[ $(status_field "$pid" Uid | awk '{print $1}') == 65532 ]] ||
    fail "pause runs as uid $(status_field "$pid" Uid)"
  # A shell in pause's PID namespace leaves an orphan; the kernel reparents it
  # to pause (PID 1 there), which must reap it when it ends.
  nsenter --target "$pid" --pid -- /bin/sh -c 'sleep 600 & exit 0'
  wait_for 10 has_children "$pid" || fail "the orphan was not reparented to pause"
  local orphan
  orphan=$(children_of "$pid" | tr -d "[:space:]")
  kill "$orphan"  # it ends now; unreaped, it would stay a zombie child of pause
  wait_for 20 no_children "$pid" || fail "pause did not reap its child: $(children_of "$pid")"
  runc --root "$runc_root" kill "$id" TERM
  wait_for 20 process_gone "$runc_pid" || fail "pause ignored SIGTERM"
  wait "$runc_pid" || fail "pause exited $? on SIGTERM, not 0"
  echo "pause ran as 65532, reaped an orphan and exited 0 on SIGTERM"
}

# A network namespace of the test's own, with its loopback up, so the test can
# reach a server in the container on 127.0.0.1 and nothing else can.
make_netns() {
  netns=weft-images-test-$$
  ip netns add "$netns"
  ip -n "$netns" link set lo up
}
http_ok() { ip netns exec "$netns" curl -sfk --max-time 2 -o /dev/null "$1"; }

# serve_until_ready ID DIR UID URL: runs the bundle, waits for URL to answer
# 200 inside the namespace, checks the server's UID; leaves it running.
# serve_until_ready ID DIR UID -- PROBE...: the same, waiting for PROBE to succeed.
serve_runc_pid=""
serve_until_ready() {
  local id=$1 dir=$2 uid=$3 probe=(http_ok "$4")
  [[ $4 == -- ]] && probe=("${@:5}")
  runc --root "$runc_root" run --bundle "$dir/bundle" "$id" </dev/null >"$dir/output.log" 2>&1 &
  serve_runc_pid=$!
  wait_for 30 "${probe[@]}" || fail "$name never answered ${probe[*]}: $(cat "$dir/output.log")"
  local pid
  pid=$(container_pid "$id")
  [[ $(status_field "$pid" Uid | awk '{print $1}') == "$uid" ]] ||
    fail "$name runs as uid $(status_field "$pid" Uid), not $uid"
}

# stop_gracefully ID: SIGTERM, and the server must exit 0 on its own.
stop_gracefully() {
  runc --root "$runc_root" kill "$1" TERM
  wait_for 40 process_gone "$serve_runc_pid" || fail "$name did not stop on SIGTERM"
  wait "$serve_runc_pid" || fail "$name exited $? on SIGTERM, not 0"
}

# weft-proxy loads a configuration document from the path the webhook mounts
# it at, serves /ready and /metrics on the admin port, as kProxyUid.
serve_proxy() {
  local dir=$1 id=$2
  mkdir -p "$dir/config"
  python3 - "$dir/config/config.json" <<'EOF'
import hashlib, json, sys
body = {"version": 1, "namespace": "test", "outbound": {"services": []}, "inbound": {"policies": []}}
canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
open(sys.argv[1], "w").write(json.dumps(body, sort_keys=True, separators=(",", ":")))
EOF
  chmod -R a+rX "$dir/config"
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" --netns "/run/netns/$netns" \
    --mount "$dir/config:/var/run/weft/config" --env WEFT_PROXY_KUBE_WATCH=off
  local uid
  uid=$(sed -n 's/.*kProxyUid = \([0-9]*\);.*/\1/p' "$source_dir/lib/weft/constants.h")
  serve_until_ready "$id" "$dir" "$uid" http://127.0.0.1:4191/ready
  # Read whole before grep: `curl | grep -q` fails under pipefail when grep
  # exits at its match while curl is still writing the page (SIGPIPE).
  local metrics
  metrics=$(ip netns exec "$netns" curl -sf http://127.0.0.1:4191/metrics) ||
    fail "weft-proxy's /metrics did not answer"
  grep -q '^config_reload_total' <<<"$metrics" ||
    fail "weft-proxy's /metrics has no config_reload_total"
  stop_gracefully "$id"
  echo "weft-proxy served /ready and /metrics as uid $uid and stopped on SIGTERM"
}

# weft-webhook serves HTTPS with a certificate the test made (so OpenSSL works
# in the image), as 65532, without an API server (--kubernetes-version).
serve_webhook() {
  local dir=$1 id=$2
  mkdir -p "$dir/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=weft-webhook -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/tls/tls.key" -out "$dir/tls/tls.crt" 2>/dev/null
  chmod -R a+rX "$dir/tls"  # a throwaway key, readable by the container's UID
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" --netns "/run/netns/$netns" \
    --mount "$dir/tls:/var/run/weft-webhook/tls" -- --port=8443 \
    --tls-cert-file=/var/run/weft-webhook/tls/tls.crt \
    --tls-private-key-file=/var/run/weft-webhook/tls/tls.key --kubernetes-version=v1.34.4
  serve_until_ready "$id" "$dir" 65532 https://127.0.0.1:8443/healthz
  http_ok https://127.0.0.1:8443/readyz || fail "weft-webhook is not ready"
  stop_gracefully "$id"
  echo "weft-webhook served HTTPS /healthz and /readyz as uid 65532 and stopped on SIGTERM"
}

# weft-grpc-sample serves gRPC as 65532: the build's own load client, in the
# namespace, makes calls that the container's pod answers.
grpc_calls_ok() {
  ip netns exec "$netns" "$build_dir/bin/weft-grpc-sample" load --requests 5 --rate 0 --timeout 2s \
    127.0.0.1:8080 >"$1" 2>/dev/null && grep -q '"OK": 5' "$1"
}
serve_grpc_sample() {
  local dir=$1 id=$2
  python3 "$test_dir/bundle_config.py" "$dir/bundle/config.json" --netns "/run/netns/$netns" \
    -- serve --port=8080 --pod-name=image-test
  serve_until_ready "$id" "$dir" 65532 -- grpc_calls_ok "$dir/load.json"
  grep -q '"image-test": 5' "$dir/load.json" || fail "the calls were not answered by the image: $(cat "$dir/load.json")"
  stop_gracefully "$id"
  echo "weft-grpc-sample answered gRPC calls as uid 65532 and stopped on SIGTERM"
}

test_serve() {
  need_root
  [[ -f $images/$name.oci.tar ]] || fail "no archive $images/$name.oci.tar"
  local dir
  dir=$(mktemp -d "$work_dir/serve-$name.XXXXXX")
  cleanup_dirs+=("$dir")
  runc_root=$dir/runc
  local id=weft-images-serve-$name-$$
  cleanup_containers+=("$id")
  unpack "$name" "$dir"
  make_netns
  case $name in
    weft-proxy) serve_proxy "$dir" "$id" ;;
    weft-webhook) serve_webhook "$dir" "$id" ;;
    weft-grpc-sample) serve_grpc_sample "$dir" "$id" ;;
    *) fail "no serve test for $name" ;;
  esac
}

test_run() {
  need_root
  [[ -f $images/$name.oci.tar ]] || fail "no archive $images/$name.oci.tar"
  local dir
  dir=$(mktemp -d "$work_dir/run-$name.XXXXXX")
  cleanup_dirs+=("$dir")
  runc_root=$dir/runc
  local id=weft-images-test-$name-$$
  cleanup_containers+=("$id")
  unpack "$name" "$dir"
  case $name in
    weft-init) run_init "$dir" "$id" ;;
    pause) run_pause "$dir" "$id" ;;
    *) run_help "$dir" "$id" ;;
  esac
}

# Bad definitions get a clear error and change nothing: the archive already at
# --out stays as it was.
test_bad_definitions() {
  local dir
  dir=$(mktemp -d "$work_dir/bad.XXXXXX")
  cleanup_dirs+=("$dir")
  mkdir -p "$dir/build/bin"
  printf '#!/bin/true\n' >"$dir/build/bin/program"
  chmod +x "$dir/build/bin/program"
  # A program whose shared library is gone: ldd reports it "not found".
  printf 'int gone(void) { return 0; }\n' >"$dir/gone.c"
  printf 'int gone(void);\nint main(void) { return gone(); }\n' >"$dir/main.c"
  gcc -shared -fPIC -o "$dir/libgone.so" "$dir/gone.c"
  gcc -o "$dir/build/bin/needs-gone" "$dir/main.c" -L"$dir" -lgone -Wl,-rpath,"$dir/missing"
  local base='"name": "weft/bad", "title": "bad", "user": "65532", "entrypoint": ["/program"]'
  local file='{"path": "/program", "build": "bin/program"}'
  local -A cases=(
    [unknown-key]="{$base, \"files\": [$file], \"shell\": true}|unknown keys ['shell']"
    [missing-file]="{$base, \"files\": [{\"path\": \"/x\", \"build\": \"bin/nothing\"}]}|is not a file"
    [relative-path]="{$base, \"files\": [{\"path\": \"x\", \"build\": \"bin/program\"}]}|must be absolute"
    [two-sources]="{$base, \"files\": [$file, {\"path\": \"/program\", \"host\": \"/etc/hostname\"}]}|given twice"
    [user-name]="{${base/\"65532\"/\"root\"}, \"files\": [$file]}|must be a numeric UID"
    [user-constant]="{${base/\"65532\"/{\"constant\": \"kNoSuchUid\"\}}, \"files\": [$file]}|no numeric constant kNoSuchUid"
    [missing-library]="{$base, \"files\": [{\"path\": \"/p\", \"build\": \"bin/needs-gone\"}]}|library not found"
    [not-json]="{$base|$dir/not-json.json:"
  )
  local case definition expected output
  for case in "${!cases[@]}"; do
    definition=${cases[$case]%%|*}
    expected=${cases[$case]#*|}
    printf '%s\n' "$definition" >"$dir/$case.json"
    echo previous >"$dir/$case.oci.tar"
    if output=$(python3 "$source_dir/images/build_image.py" "$dir/$case.json" \
      --build-dir "$dir/build" --out "$dir/$case.oci.tar" 2>&1); then
      fail "$case: a bad definition was accepted"
    fi
    grep -qF -- "$expected" <<<"$output" || fail "$case: error '$output' does not say '$expected'"
    [[ $(cat "$dir/$case.oci.tar") == previous ]] || fail "$case: the existing archive was changed"
    [[ ! -e $dir/$case.oci.tar.partial ]] || fail "$case: a partial archive was left"
    echo "refused $case: $output"
  done
  output=$(SOURCE_DATE_EPOCH=yesterday python3 "$source_dir/images/build_image.py" \
    "$dir/unknown-key.json" --build-dir "$dir/build" --out "$dir/epoch.oci.tar" 2>&1) &&
    fail "a bad SOURCE_DATE_EPOCH was accepted"
  grep -q "SOURCE_DATE_EPOCH must be seconds" <<<"$output" || fail "bad SOURCE_DATE_EPOCH: $output"
}

# ---------------------------------------------------------------- containerd

containerd_pid=""
containerd_dir=""
stop_containerd() {
  local dir=$containerd_dir
  [[ -n $dir ]] || return 0
  if [[ -n $containerd_pid ]]; then
    kill "$containerd_pid" 2>/dev/null || true
    wait_for 20 process_gone "$containerd_pid" || kill -KILL "$containerd_pid" 2>/dev/null || true
  fi
  # The snapshotter's mounts, deepest first, before the directory goes.
  local mount
  while read -r mount; do umount "$mount" 2>/dev/null || true; done < <(
    awk -v dir="$dir" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf "$dir"
}

test_containerd() {
  need_root
  containerd_dir=$(mktemp -d /tmp/weft-images-containerd.XXXXXX)  # short: socket paths are limited
  trap stop_containerd EXIT
  local dir=$containerd_dir
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
# Only the image store and the snapshotter: no CRI, no CNI, nothing on the network.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  containerd_pid=$!
  wait_for 30 test -S "$dir/containerd.sock" ||
    fail "containerd did not start: $(cat "$dir/containerd.log")"
  local ctr=(ctr --address "$dir/containerd.sock" --namespace k8s.io)
  local ref file
  while read -r ref file; do
    "${ctr[@]}" images import "$file" >/dev/null || fail "ctr could not import $file"
  done <"$images/images.txt"
  local listed
  listed=$("${ctr[@]}" images ls --quiet)
  while read -r ref file; do
    grep -qx "$ref" <<<"$listed" || fail "$ref is not listed after import: $listed"
    "${ctr[@]}" images check | grep -F "$ref " | grep -Eq "complete .*true *\$" ||
      fail "$ref is not complete and unpacked"
    echo "imported: $ref"
  done <"$images/images.txt"
  [[ $(wc -l <<<"$listed") -eq $(wc -l <"$images/images.txt") ]] ||
    fail "import made other images than listed: $listed"
  # No `ctr run` here: containerd 1.6's shim keeps its sockets and runc state
  # under the system's /run/containerd whatever the daemon's --state, which the
  # node's containerd uses; the runc tests above run the same layers.
}

case $command in
  build) test_build ;;
  reproducible) test_reproducible ;;
  config) test_config ;;
  bad-definitions) test_bad_definitions ;;
  run) test_run ;;
  serve) test_serve ;;
  containerd) test_containerd ;;
  *) fail "unknown command $command" ;;
esac
