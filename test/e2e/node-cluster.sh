#!/usr/bin/env bash
# The node-cluster fixture: `up` starts a one-node cluster in $WEFT_CLUSTER_DIR with
# the images of $WEFT_E2E_IMAGES_DIR (default: this build's programs, packaged
# now) and imports the e2e test image; `down` stops it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
skip_unless_root

case "${1:-}" in
  up)
    images=${WEFT_E2E_IMAGES_DIR:-}
    if [[ -z $images ]]; then
      # This build's programs, packaged now: images left from an older build
      # would test old code.
      build=${WEFT_E2E_BUILD_DIR:-$repo/build}
      images=$build/images
      "$repo/scripts/build-images" --no-build --build-dir "$build" --out "$images"
    fi
    "$cluster" up --node --images "$images"
    work=${WEFT_E2E_WORK_DIR:-$WEFT_CLUSTER_DIR.work}
    mkdir -p "$work"
    "$repo/scripts/install-deps"
    python3 "$repo/images/build_image.py" "$here/node/busybox.json" --build-dir "$work" \
      --out "$work/e2e-busybox.oci.tar" >/dev/null
    "$cluster" import-image "$work/e2e-busybox.oci.tar" "$E2E_IMAGE"
    ;;
  down)
    "$cluster" down
    rm -rf "${WEFT_E2E_WORK_DIR:-$WEFT_CLUSTER_DIR.work}"
    ;;
  *)
    echo "usage: node-cluster.sh up|down" >&2
    exit 2
    ;;
esac
