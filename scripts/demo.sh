#!/usr/bin/env bash
# The Stratus demo: on the localnet (started if needed), store a file with
# three providers, show the deal and its replicas, get the file back and
# check it is identical.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${STRATUSD:-$ROOT/build/stratusd}
DIR=${LOCALNET_DIR:-$ROOT/build/localnet}
CLI=("$BIN" --home "$DIR/client")

step() { printf '\n==> %s\n' "$*"; }

if ! "${CLI[@]}" status > /dev/null 2>&1; then
  step "starting the localnet"
  ./scripts/localnet.sh start
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file="$work/hello.bin"
{ echo "Hello from Stratus, $(date -u)"; head -c $((3 << 20)) /dev/urandom; } > "$file"

step "storing $(wc -c < "$file") bytes with 3 providers (encrypted on this machine first)"
id=$("${CLI[@]}" storage put "$file" --from alice --replicas 3 --duration 2000)
echo "deal id: $id"

step "the deal on chain"
"${CLI[@]}" storage status "$id"

step "getting it back from any replica, verified against the deal's Merkle root"
"${CLI[@]}" storage get "$id" -o "$work/hello.copy"
if cmp -s "$file" "$work/hello.copy"; then
  echo "identical: $(sha256sum "$file" | cut -c1-16)… = $(sha256sum "$work/hello.copy" | cut -c1-16)…"
else
  echo "MISMATCH: the file read back differs" >&2
  exit 1
fi

step "your deals (stratusd storage ls --from alice)"
"${CLI[@]}" storage ls --from alice

echo
echo "Providers prove possession every proof window; watch payments grow with:"
echo "  ${CLI[*]} storage status $id"
