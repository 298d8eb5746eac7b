#!/usr/bin/env bash
# What OpenSSL's TLS 1.3 record layer costs per kept-alive request on the
# mTLS hop between two proxies (one record written and one read on each
# side), measured without a proxy by bench/proxy/tls_records.cpp, against
# Debian's OpenSSL and, with --openssl-src, a newer OpenSSL built from its
# source (for instance the one the crates.io package openssl-src carries:
# `cargo fetch` of openssl-src puts it under ~/.cargo/registry/src/*/
# openssl-src-*/openssl). For each OpenSSL:
#   - ns per request for both sides (CPU time, median of --rounds rounds of
#     --exchanges exchanges), through TLS and through the bare BIO pair, and
#     the difference: what TLS adds;
#   - instructions per request (callgrind: 2N exchanges minus N, over N),
#     which do not move with the machine's load.
#
# Usage: bench/proxy/tls_records.sh [--openssl-src DIR] [--payload BYTES]
#          [--rounds R] [--exchanges N] [--callgrind-exchanges N]
# Needs g++, libssl-dev and valgrind. A newer OpenSSL is built once (static
# libraries, about 10 minutes on 2 cores) into ~/.cache/weft/openssl-VERSION.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
openssl_src="" payload=100 rounds=5 exchanges=200000 callgrind_exchanges=20000
usage="usage: $0 [--openssl-src DIR] [--payload BYTES] [--rounds R] [--exchanges N] [--callgrind-exchanges N]"
while (($#)); do
  case $1 in
    --openssl-src) openssl_src=$2; shift 2 ;;
    --payload) payload=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --callgrind-exchanges) callgrind_exchanges=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for value in "$payload" "$rounds" "$exchanges" "$callgrind_exchanges"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "tls_records.sh: '$value' is not a positive whole number; $usage" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "tls_records.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source=$repo/bench/proxy/tls_records.cpp

# label:binary pairs, Debian's first (the label is for reading; the table prints the version).
builds=("debian:$work/tls_records-debian")
g++ -std=c++20 -O2 -o "$work/tls_records-debian" "$source" -lssl -lcrypto

if [[ -n $openssl_src ]]; then
  [[ -f $openssl_src/Configure && -f $openssl_src/VERSION.dat ]] ||
    { echo "tls_records.sh: $openssl_src is not an OpenSSL 3 source tree (no Configure, VERSION.dat)" >&2; exit 1; }
  version=$(awk -F= '$1=="MAJOR"{a=$2} $1=="MINOR"{b=$2} $1=="PATCH"{c=$2} END{print a"."b"."c}' "$openssl_src/VERSION.dat")
  prefix=${HOME}/.cache/weft/openssl-$version
  if [[ ! -f $prefix/lib/libssl.a ]]; then
    echo "[tls_records] building OpenSSL $version into $prefix (once)" >&2
    build=$work/openssl-build
    cp -a "$openssl_src" "$build"
    (cd "$build" && ./Configure linux-x86_64 no-shared no-tests no-docs no-apps no-module \
      --prefix="$prefix" --libdir=lib &&
      make -j"$(nproc)" build_libs && make install_dev) >"$work/openssl-build.log" 2>&1 ||
      { tail -30 "$work/openssl-build.log" >&2; echo "tls_records.sh: the OpenSSL build failed" >&2; exit 1; }
  fi
  g++ -std=c++20 -O2 -I"$prefix/include" -o "$work/tls_records-$version" "$source" \
    "$prefix/lib/libssl.a" "$prefix/lib/libcrypto.a" -lpthread -ldl
  builds+=("$version:$work/tls_records-$version")
fi

# instructions BINARY MODE N: callgrind's total for one run.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$1" --only "$2" \
    --payload "$payload" --exchanges "$3" 2>&1 |
    awk '/Collected :/ {print $NF}'
}

echo "## TLS 1.3 records in OpenSSL alone ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Payload $payload bytes each way; ns: median of $rounds rounds of $exchanges exchanges; instructions: callgrind, $callgrind_exchanges exchanges. Load average: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| OpenSSL | cipher | ns per request, TLS | bare | added by TLS | instructions per request, TLS | bare | added by TLS |"
echo "|---|---|---|---|---|---|---|---|"
for entry in "${builds[@]}"; do
  binary=${entry#*:}
  line=$("$binary" --payload "$payload" --rounds "$rounds" --exchanges "$exchanges")
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
  declare -A counts=()
  for mode in tls bare; do
    one=$(instructions "$binary" "$mode" "$callgrind_exchanges")
    two=$(instructions "$binary" "$mode" $((2 * callgrind_exchanges)))
    counts[$mode]=$(((${two//,/} - ${one//,/}) / callgrind_exchanges))
  done
  echo "| $(field openssl) | $(field cipher) | $(field tls_ns) | $(field bare_ns) | **$(field added_ns)** | ${counts[tls]} | ${counts[bare]} | **$((counts[tls] - counts[bare]))** |"
done
