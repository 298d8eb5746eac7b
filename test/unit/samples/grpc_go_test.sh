#!/usr/bin/env bash
# The Go checks of samples/grpc, run from there: gofmt (no file left
# unformatted), go vet, then the packages' tests. Usage: grpc_go_test.sh GO
set -euo pipefail
go=${1:-go}
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
unformatted=$("$("$go" env GOROOT)/bin/gofmt" -l .)
if [[ -n $unformatted ]]; then
  echo "not gofmt-formatted (gofmt -w to fix):" >&2
  echo "$unformatted" >&2
  exit 1
fi
"$go" vet ./...
"$go" test -count=1 ./...
