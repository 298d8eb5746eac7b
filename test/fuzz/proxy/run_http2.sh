#!/usr/bin/env bash
# Builds the HTTP/2 request fuzz target with clang's libFuzzer (plus ASan and
# UBSan) and runs it. Usage: test/fuzz/proxy/run_http2.sh [SECONDS] (default
# 300). The corpus starts from test/fuzz/proxy/http2_seeds (regenerate them
# with make_http2_seeds.py) and is kept in
# ${WEFT_FUZZ_DIR:-/tmp/weft-fuzz-proxy-http2}; a crash leaves its input there.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
seconds=${1:-300}
work=${WEFT_FUZZ_DIR:-/tmp/weft-fuzz-proxy-http2}
mkdir -p "$work/corpus"
command -v clang++ >/dev/null || { echo "clang++ missing: run scripts/install-deps" >&2; exit 1; }
read -r -a nghttp2_flags <<<"$(pkg-config --cflags --libs libnghttp2)"

clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo" "$repo"/test/fuzz/proxy/http2_request_fuzz.cpp \
  "$repo"/proxy/http2/{request_head,limits}.cpp "$repo"/proxy/request/{path,grpc}.cpp \
  "$repo"/proxy/bridge/head_translation.cpp "$repo"/proxy/http1/{head_parser,head_writer,body_decoder,message}.cpp \
  -I"$repo"/lib "${nghttp2_flags[@]}" \
  -o "$work/http2_request_fuzz"
cp "$repo"/test/fuzz/proxy/http2_seeds/*.bin "$work/corpus/"
"$work/http2_request_fuzz" -max_total_time="$seconds" -max_len=4096 "$work/corpus"
