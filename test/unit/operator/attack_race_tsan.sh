#!/usr/bin/env bash
# A ThreadSanitizer build of just the reconcile path and the race PoC, linked
# with the release libraries of build/ (uninstrumented) for the rest.
set -euo pipefail
cd "$(dirname "$0")/../../.."
mkdir -p build-tsan-min
out=build-tsan-min
# Run: build-tsan-min/race_test "[race]" (ThreadSanitizer reports the race on exported_).
flags=(-DFMT_SHARED -I. -Ilib -Itest/unit/operator -O1 -g -std=c++20 -fsanitize=thread)
objs=()
for src in operator/reconciler.cpp operator/mesh_exports.cpp operator/config_builder.cpp \
  operator/namespace_plan.cpp operator/status.cpp operator/model.cpp operator/trust_anchors.cpp \
  operator/write_memory.cpp operator/operator_metrics.cpp \
  test/unit/operator/attack_reconcile_race_test.cpp; do
  obj=$out/$(basename "$src" .cpp).o
  [[ $obj -nt $src ]] || c++ "${flags[@]}" -c "$src" -o "$obj" &
  objs+=("$obj")
  (( $(jobs -r | wc -l) >= 2 )) && wait -n
done
wait
c++ -fsanitize=thread -pthread "${objs[@]}" -o $out/race_test \
  build/operator/libweft_operator_core.a /usr/lib/libCatch2WithMain.a build/lib/libweft_kube.a \
  build/lib/libweft_kube_api.a -lcurl /usr/lib/x86_64-linux-gnu/libyaml-cpp.so.0.7.0 \
  build/lib/libweft_http.a -lssl build/lib/libweft_proxyconfig.a -lre2 build/lib/libweft_identity.a \
  build/lib/libweft_core.a -lcrypto -lfmt
