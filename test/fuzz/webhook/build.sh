#!/usr/bin/env bash
# Builds the webhook's libFuzzer target with clang (ASan + UBSan), apart from the
# g++ build, and optionally runs it:
#   test/fuzz/webhook/build.sh [OUT_DIR]                  -> OUT_DIR/review_fuzz
#   test/fuzz/webhook/build.sh OUT_DIR --run SECONDS      build, then fuzz that long
# The seed corpus is test/fuzz/webhook/corpus plus the unit tests' captured review.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:-$repo/build-fuzz-webhook}
mkdir -p "$out"
clang=${CXX_FUZZ:-clang++}
command -v "$clang" >/dev/null || { echo "needs clang (scripts/install-deps)" >&2; exit 1; }

sources=(
  "$here/review_fuzz.cpp"
  "$repo/webhook/admission.cpp" "$repo/webhook/config.cpp"
  "$repo/webhook/decision.cpp" "$repo/webhook/mutate.cpp" "$repo/webhook/pod.cpp"
  "$repo/webhook/review_json.cpp" "$repo/webhook/json_text.cpp"
  "$repo/test/unit/webhook/review_oracle.cpp"
  "$repo/lib/weft/base64.cpp" "$repo/lib/weft/port_list.cpp"
  "$repo/lib/weft/capture/rules.cpp" "$repo/lib/weft/log.cpp"
)
"$clang" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo" -I"$repo/lib" "${sources[@]}" -lfmt -lcrypto -o "$out/review_fuzz"
echo "built $out/review_fuzz" >&2

if [[ ${2:-} == --run ]]; then
  seconds=${3:?--run needs SECONDS}
  corpus=$out/review_fuzz_corpus
  mkdir -p "$corpus"
  cp "$here"/corpus/* "$repo/test/unit/webhook/testdata/"*.json "$corpus/"
  # One worker: the machine's cores are shared.
  "$out/review_fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$corpus"
fi
