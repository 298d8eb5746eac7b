# What bench/proxy/run.sh and bench/proxy/instructions.sh share: the work
# folder and its processes, fortio, the backend and weft-proxy's document.
# Sourced; the caller sets `repo` first.
# shellcheck shell=bash
: "${repo:?set repo before sourcing bench/proxy/common.bash}"

# fortio from the Go module proxy, built once into the cache.
bin_cache=${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin
fortio=$bin_cache/fortio
ensure_fortio() {
  if [[ ! -x $fortio ]]; then
    echo "[bench] building fortio from the Go module proxy" >&2
    mkdir -p "$bin_cache"
    # (v1.66.5: later versions need a module the Go proxy here does not serve)
    GOBIN=$bin_cache go install fortio.org/fortio@v1.66.5 >&2
  fi
}

# The work folder and every process started in it, stopped and removed on exit.
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-proxy-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT: returns once something listens on 127.0.0.1:PORT (5 s at most).
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  exit 1
}

# nginx_config DIR LISTEN_PORT LOCATION_BODY [HTTP_EXTRA]: one worker, no access log.
nginx_config() {
  cat >"$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  ${4:-}
  server { listen 127.0.0.1:$2; location / { $3 } }
}
CONF
}

# start_backend: nginx, one worker, answering "ok"; sets backend_port.
start_backend() {
  backend_port=$(free_port)
  mkdir -p "$work/backend"
  nginx_config "$work/backend" "$backend_port" 'return 200 "ok\n";'
  nginx -c "$work/backend/nginx.conf" -p "$work/backend" &
  pids+=($!)
}

# write_weft_config: weft-proxy's document in $work/config.json, where the
# Service 10.96.0.10:80 (the not-redirected destination) has the backend as
# its endpoint.
write_weft_config() { write_weft_document "$work/config.json" "$backend_port"; }

# write_weft_document FILE PORT: the same document in FILE, the endpoint
# being 127.0.0.1:PORT.
write_weft_document() {
  HARNESS_DIR=$repo/test/integration/proxy python3 - "$1" "$2" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
from harness import document, service
with open(sys.argv[1], "w") as f:
    f.write(document([service("web", "10.96.0.10", 80, [("127.0.0.1", int(sys.argv[2]))])],
                     "bench"))
PY
}

# weft_flags: weft-proxy's flags for one worker, as in a pod, on free ports.
# shellcheck disable=SC2034 # (used by the scripts that source this file)
weft_flags=(--config "$work/config.json" --listen-address 127.0.0.1 --outbound-port 0
  --inbound-port 0 --admin-port 0 --kube-watch off --workers 1
  --outbound-fallback 10.96.0.10:80)

# weft_env: the environment weft-proxy's image sets (images/weft-proxy.json:
# glibc's per-thread cache of freed blocks, docs/proxy.md), for a benchmark
# to run the proxy as it is deployed: `env "${weft_env[@]}" weft-proxy ...`.
# shellcheck disable=SC2034 # (used by the scripts that source this file)
mapfile -t weft_env < <(python3 -c 'import json, sys
for variable in json.load(open(sys.argv[1])).get("env", []): print(variable)' "$repo/images/weft-proxy.json")

# outbound_port_of LOG: the outbound port weft-proxy logged at start.
outbound_port_of() {
  grep '"weft-proxy started"' "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outbound_port"])'
}

# median: the median of the numbers on stdin (spaces or lines; decimals and exponents).
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# write_mesh_files PORT...: in $work, one test anchor (anchor.pem), an issuer
# under it and a leaf per side, the chain sent being leaf + issuer as
# weft-identity issues (server/ and client/: chain.pem, key.pem, anchors.pem,
# for --test-credentials-dir; server.haproxy.pem and client.haproxy.pem), the
# server proxy's document (server.json: identity on, no outbound Service)
# and, per server proxy inbound PORT, the client proxy's documents where
# Service 10.96.0.10:80 has that port as its endpoint, meshed
# (client-mtls-PORT.json) or not (client-plain-PORT.json).
write_mesh_files() {
  HARNESS_DIR=$repo/test/integration/proxy python3 - "$work" "$@" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
import mtls_test
work, ports = sys.argv[1], sys.argv[2:]
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import CertificateBuilder
# As weft-identity issues: anchor -> issuer (intermediate) -> leaf, the chain
# sent being the leaf and the issuer.
ca = mtls_test.Ca("bench-anchor")
issuer = mtls_test.Ca("bench-issuer")
issuer.cert = (CertificateBuilder().subject_name(issuer.cert.subject).issuer_name(ca.cert.subject)
               .public_key(issuer.key.public_key()).serial_number(issuer.cert.serial_number)
               .not_valid_before(issuer.cert.not_valid_before_utc)
               .not_valid_after(issuer.cert.not_valid_after_utc))
for extension in mtls_test.Ca("template").cert.extensions:
    issuer.cert = issuer.cert.add_extension(extension.value, extension.critical)
issuer.cert = issuer.cert.sign(ca.key, hashes.SHA256())
import certificates
issuer_pem = certificates.pem(issuer.cert)
def write(path, text):
    with open(os.path.join(work, path), "w") as f:
        f.write(text)
write("anchor.pem", ca.pem)
for name, spiffe_id in (("server", mtls_test.SERVER_ID), ("client", mtls_test.CLIENT_ID)):
    leaf, key = issuer.leaf(spiffe_id, valid_until_hours=2)
    os.mkdir(os.path.join(work, name))
    write(f"{name}/chain.pem", leaf + issuer_pem)
    write(f"{name}/key.pem", key)
    write(f"{name}/anchors.pem", ca.pem)
    write(f"{name}.haproxy.pem", leaf + issuer_pem + key)  # HAProxy's crt: chain and key
write("server.json", mtls_test.mesh_document(ca.pem))
for port in ports:
    write(f"client-mtls-{port}.json", mtls_test.mesh_document(ca.pem, endpoint=int(port)))
    write(f"client-plain-{port}.json",
          mtls_test.mesh_document(ca.pem, endpoint=int(port), identity=None))
PY
}

# inbound_connections LOG tls|no_identity: the inbound connections the
# weft-proxy that wrote LOG counted, TLS (true) or plaintext (no_identity).
inbound_connections() {
  local admin
  admin=$(grep '"weft-proxy started"' "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_port"])')
  curl -sS "http://127.0.0.1:$admin/metrics" |
    awk -v tls="tls=\"$2\"" '/^tcp_tls_connections_total/ && /direction="inbound"/ && index($0, tls) {s += $NF} END {printf "%d", s}'
}
