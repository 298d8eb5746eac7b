#!/usr/bin/env bash
# Regenerates echopb/ from proto/echo.proto. Only needed after changing the
# .proto: the generated code is checked in, so building needs no protoc.
# protoc is Debian's (protobuf-compiler); the two Go plugins are built through
# the Go module proxy at the versions below (protoc-gen-go matches the
# google.golang.org/protobuf of go.mod).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
protoc_gen_go=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
protoc_gen_go_grpc=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

command -v protoc >/dev/null || { echo "generate: protoc is missing: apt-get install protobuf-compiler" >&2; exit 1; }
plugins=$(mktemp -d)
trap 'rm -rf "$plugins"' EXIT
for plugin in "$protoc_gen_go" "$protoc_gen_go_grpc"; do GOBIN=$plugins go install "$plugin"; done
PATH=$plugins:$PATH protoc -I proto \
  --go_out=echopb --go_opt=paths=source_relative \
  --go-grpc_out=echopb --go-grpc_opt=paths=source_relative \
  proto/echo.proto
echo "generate: wrote echopb/echo.pb.go and echopb/echo_grpc.pb.go" >&2
