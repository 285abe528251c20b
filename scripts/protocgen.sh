#!/usr/bin/env bash
# Regenerates the gogoproto and grpc-gateway Go code from proto/.
# Tools are the pinned versions installed by `make proto-tools` into build/tools.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/build/tools:$PATH"

for tool in buf protoc-gen-gocosmos protoc-gen-grpc-gateway; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run 'make proto-tools'" >&2; exit 1; }
done

# Dependencies' protos come from the Go module cache at the versions go.mod pins.
tp="$root/third_party/proto"
rm -rf "$tp" && mkdir -p "$tp/gogoproto" "$tp/cosmos_proto" "$tp/google/api"
moddir() { go list -m -f '{{.Dir}}' "$1"; }
go mod download github.com/cosmos/cosmos-sdk github.com/cosmos/gogoproto github.com/cosmos/cosmos-proto github.com/grpc-ecosystem/grpc-gateway
sdk=$(moddir github.com/cosmos/cosmos-sdk)
cp -r "$sdk/proto/cosmos" "$sdk/proto/amino" "$tp/"
cp "$(moddir github.com/cosmos/gogoproto)/gogoproto/gogo.proto" "$tp/gogoproto/"
cp "$(moddir github.com/cosmos/cosmos-proto)/proto/cosmos_proto/cosmos.proto" "$tp/cosmos_proto/"
gw=$(moddir github.com/grpc-ecosystem/grpc-gateway)
cp "$gw/third_party/googleapis/google/api/annotations.proto" "$gw/third_party/googleapis/google/api/http.proto" "$tp/google/api/"
chmod -R u+w "$tp"

rm -rf .gen
buf generate --template buf.gen.gogo.yaml --path proto/stratus
# Generated files land under their Go import path; move them into the tree.
cp -r .gen/github.com/stratusnet/stratus/* ./
rm -rf .gen
echo "generated: $(find x -name '*.pb.go' -o -name '*.pb.gw.go' | wc -l) files"
