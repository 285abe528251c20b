#!/usr/bin/env bash
# The Stratus demo: on the localnet (started if needed), store a file
# erasure-coded 6+3 on nine providers, show the deal and its shards, get the
# file back and check it is identical; kill three of its providers, get it
# again, and watch repair bring the deal back to nine shards; then store a
# text file in the clear and run the wordcount example over it on two
# providers, and check the agreed output against the same program run
# natively.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${STRATUSD:-$ROOT/build/stratusd}
DIR=${LOCALNET_DIR:-$ROOT/build/localnet}
CLI=("$BIN" --home "$DIR/client")

step() { printf '\n==> %s\n' "$*"; }
same() {
  if cmp -s "$file" "$1"; then
    echo "identical: $(sha256sum "$file" | cut -c1-16)… = $(sha256sum "$1" | cut -c1-16)…"
  else
    echo "MISMATCH: the file read back differs" >&2
    exit 1
  fi
}

if ! "${CLI[@]}" status > /dev/null 2>&1; then
  step "starting the localnet"
  ./scripts/localnet.sh start
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file="$work/hello.bin"
{ echo "Hello from Stratus, $(date -u)"; head -c $((3 << 20)) /dev/urandom; } > "$file"

step "storing $(wc -c < "$file") bytes erasure-coded 6+3 on 9 providers (encrypted on this machine first)"
id=$("${CLI[@]}" storage put "$file" --from alice --duration 2000)
echo "deal id: $id"

step "the deal on chain: 9 shards, any 6 rebuild the file, 1.5x its size"
"${CLI[@]}" storage status "$id"

step "getting it back from the 6 data shard holders (a parity shard only for one that fails or lags), verified against every shard's and the file's Merkle root"
"${CLI[@]}" storage get "$id" -o "$work/hello.copy" --from alice
same "$work/hello.copy"

# The slot table of 'storage status': SLOT SHARD PROVIDER STATUS ...
slots() { "${CLI[@]}" storage status "$id" | awk '$1 ~ /^[0-9]+$/ && NF >= 4'; }
holders=$(slots | awk '$2 < 3 { print $3 }')
killed=()
for addr in $holders; do
  for ((i = 1; i <= 32; i++)); do
    [[ -f $DIR/provider$i.pid ]] || continue
    if [[ $("${CLI[@]}" keys show "provider$i" -a 2> /dev/null) == "$addr" ]]; then
      kill "$(cat "$DIR/provider$i.pid")" && killed+=("provider$i")
    fi
  done
done
step "killed ${killed[*]}: the holders of data shards 0, 1 and 2 (m = 3 providers down)"
sleep 1
"${CLI[@]}" storage get "$id" -o "$work/hello.copy2" --from alice
same "$work/hello.copy2"

step "waiting for repair: the dead providers miss proofs, their slots are reassigned, and the new holders rebuild their shards from 6 verified ones"
deadline=$((SECONDS + 300))
while :; do
  live=$(slots | awk -v dead=" $(echo $holders) " '$4 == "committed" && index(dead, " " $3 " ") == 0 { n++ } END { print n + 0 }')
  [[ $live == "${last:-}" ]] || echo "  committed shards on live providers: $live of 9 (height $("${CLI[@]}" status 2> /dev/null | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'))"
  last=$live
  [[ $live -ge 9 ]] && break
  (( SECONDS < deadline )) || { echo; echo "repair did not finish in 300 s" >&2; "${CLI[@]}" storage status "$id" >&2; exit 1; }
  sleep 2
done
"${CLI[@]}" storage status "$id"
"${CLI[@]}" storage get "$id" -o "$work/hello.copy3" --from alice
same "$work/hello.copy3"

step "restarting ${killed[*]}"
./scripts/localnet.sh start > /dev/null

step "storing a text file in the clear (--public) for a compute job"
text="$work/words.txt"
for _ in $(seq 1 2000); do echo "the quick brown fox jumps over the lazy dog near the stratus cloud"; done > "$text"
input=$("${CLI[@]}" storage put "$text" --public --from alice --replicas 2 --duration 2000)
echo "input deal id: $input"

WASM=${WORDCOUNT_WASM:-$ROOT/build/examples/wordcount.wasm}
[[ -f $WASM ]] || { echo "$WASM not found; run 'make examples'" >&2; exit 1; }
step "running examples/wordcount over it on 2 providers (commit, reveal, majority)"
"${CLI[@]}" compute run "$WASM" --input "$input" --executors 2 --wait --from alice > "$work/job.txt" 2> "$work/run.log" \
  || { cat "$work/run.log" "$work/job.txt" >&2; exit 1; }
grep -E "^(job|program stored|.* storing it as a public deal)" "$work/run.log" || true
cat "$work/job.txt"
job=$(sed -n 's/^job \([0-9]*\) submitted.*/\1/p' "$work/run.log")

step "downloading the agreed output, verified against its Merkle root"
"${CLI[@]}" compute output "$job" -o "$work/result" --from alice
echo "--- stdout of the job"
cat "$work/result/stdout"
mkdir -p "$work/native-in" "$work/native-out"
cp "$text" "$work/native-in/$input"
native=$(STRATUS_INPUT="$work/native-in" STRATUS_OUTPUT="$work/native-out" go run ./examples/wordcount)
if [[ $native == "$(cat "$work/result/stdout")" ]]; then
  echo "identical to the same program run natively on this machine"
else
  echo "MISMATCH: the job's output differs from a native run:" >&2
  echo "$native" >&2
  exit 1
fi

step "your deals (stratusd storage ls --from alice)"
"${CLI[@]}" storage ls --from alice

echo
echo "Providers prove possession every proof window; watch payments grow with:"
echo "  ${CLI[*]} storage status $id"
echo "and the job with:"
echo "  ${CLI[*]} compute status $job"
