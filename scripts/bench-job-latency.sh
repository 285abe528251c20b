#!/usr/bin/env bash
# Job latency on the localnet, in blocks and seconds from submit to
# finalize: runs the wordcount example over a 1 MiB public file RUNS times
# with 2 executors (one at a time), then prints one line per job and the
# median. Starts the localnet if it is not running; leaves it running.
#
#   make build examples && ./scripts/bench-job-latency.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${STRATUSD:-$ROOT/build/stratusd}
DIR=${LOCALNET_DIR:-$ROOT/build/localnet}
RUNS=${RUNS:-10}
WASM=${WORDCOUNT_WASM:-$ROOT/build/examples/wordcount.wasm}
CLI=("$BIN" --home "$DIR/client")

[[ -f $WASM ]] || { echo "$WASM not found; run 'make examples'" >&2; exit 1; }
if ! "${CLI[@]}" status > /dev/null 2>&1; then
  ./scripts/localnet.sh start > /dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq 1 16000); do echo "the quick brown fox jumps over the lazy dog near the stratus cloud"; done > "$work/words.txt"
input=$("${CLI[@]}" storage put "$work/words.txt" --public --from alice --replicas 2 --duration 5000 2> /dev/null)
prog=$("${CLI[@]}" storage put "$WASM" --public --from alice --replicas 2 --duration 5000 2> /dev/null)

field() { sed -n "s/.*\"$1\": *\"\\{0,1\\}\\([0-9]*\\)\"\\{0,1\\}.*/\\1/p" | head -n 1; }
printf '%-5s %-10s %-9s %-8s %s\n' job submitted finished blocks seconds
blocks=()
for _ in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  "${CLI[@]}" compute run --program-deal "$prog" --input "$input" --executors 2 --wait --from alice \
    > "$work/job.txt" 2> "$work/run.log" || { cat "$work/run.log" >&2; exit 1; }
  end=$(date +%s.%N)
  job=$(sed -n 's/^job \([0-9]*\) submitted.*/\1/p' "$work/run.log")
  json=$("${CLI[@]}" q compute job "$job" -o json)
  sub=$(field submitted_height <<< "$json")
  fin=$(field finished_height <<< "$json")
  b=$((fin - sub))
  blocks+=("$b")
  printf '%-5s %-10s %-9s %-8s %.1f\n' "$job" "$sub" "$fin" "$b" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
done
median=$(printf '%s\n' "${blocks[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
echo "median: $median blocks from submit to finalize over $RUNS jobs (2 executors, 1 MiB input)"
