#!/usr/bin/env bash
# The compute executor against native code: wordcount and sha256sum from
# examples/, built natively and for wasip1, over the same generated text file.
# Each wasm program runs through the provider's executor (scripts/runwasm),
# RUNS times in one process: the first run includes compiling the module,
# later runs reuse it, as a provider does for a program it has run before.
# See docs/benchmarks.md.
#
#   scripts/bench-compute.sh
#
# ISOLATION (default process, as the daemon) runs each job in a child process
# killed at its time limit; ISOLATION=in-process runs it inside runwasm with
# wazero's interruption checks.
# SIZE_MIB (default 256) sets the input size, RUNS (default 3) how many times
# each program is timed; the best run counts. The script checks that the wasm
# and native runs print the same report, and deletes its temp dir at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-3}
ISOLATION=${ISOLATION:-process}

die() { printf 'bench-compute: %s\n' "$*" >&2; exit 1; }
for tool in go awk cmp; do
  command -v "$tool" > /dev/null || die "$tool is not installed; it is needed to run this benchmark"
done
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive number, not '$SIZE_MIB'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
case $ISOLATION in
  process) ISOLATED_FLAG=(-isolated) ;;
  in-process) ISOLATED_FLAG=() ;;
  *) die "ISOLATION must be process or in-process, not '$ISOLATION'" ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-bench-compute.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TMPDIR=$WORK # runwasm's work dirs too

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
mbs() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.0f", n / s / 1e6 }'; }

PROGRAMS=(wordcount sha256sum)
mkdir -p "$WORK/native" "$WORK/wasm" "$WORK/input" "$WORK/output"
echo "building ${PROGRAMS[*]} natively and for wasip1, and scripts/runwasm"
for p in "${PROGRAMS[@]}"; do
  go build -trimpath -o "$WORK/native/$p" "./examples/$p"
  GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$WORK/wasm/$p.wasm" "./examples/$p"
done
go build -o "$WORK/runwasm" ./scripts/runwasm

# Words of 1-12 lowercase letters, a newline after about one word in ten: a
# deterministic stream, so every run of the script counts the same text.
cat > "$WORK/gen.go" << 'GEN'
package main

import (
	"bufio"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	r := rand.New(rand.NewPCG(2026, 1))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	word := make([]byte, 0, 16)
	for n > 0 {
		word = word[:0]
		for range 1 + r.IntN(12) {
			word = append(word, byte('a'+r.IntN(26)))
		}
		if r.IntN(10) == 0 {
			word = append(word, '\n')
		} else {
			word = append(word, ' ')
		}
		word = word[:min(len(word), n)]
		w.Write(word)
		n -= len(word)
	}
	w.Flush()
}
GEN
BYTES=$((SIZE_MIB * 1024 * 1024))
echo "writing $SIZE_MIB MiB of generated text"
(cd "$WORK" && GO111MODULE=off go run gen.go "$BYTES") > "$WORK/input/1"
cat "$WORK/input/1" > /dev/null # into the page cache before anything is timed

declare -A native_best wasm_best wasm_first
for p in "${PROGRAMS[@]}"; do
  best=""
  for ((run = 1; run <= RUNS; run++)); do
    t0=$(now)
    STRATUS_INPUT=$WORK/input STRATUS_OUTPUT=$WORK/output "$WORK/native/$p" > "$WORK/$p.native.out"
    t1=$(now)
    s=$(sub "$t1" "$t0")
    printf '%s native run %d: %ss\n' "$p" "$run" "$s"
    best=$(min "$s" "$best")
  done
  native_best[$p]=$best

  out=$("$WORK/runwasm" "${ISOLATED_FLAG[@]}" -runs "$RUNS" -memory 256 -input "1=$WORK/input/1" -stdout "$WORK/$p.wasm.out" "$WORK/wasm/$p.wasm") ||
    die "runwasm failed on $p: $out"
  sed "s/^/$p wasm /" <<< "$out"
  grep -q 'verdict ok ' <<< "$out" || die "$p did not end ok in the executor"
  wasm_first[$p]=$(awk '/^run 1:/ { sub(/s$/, "", $3); print $3 }' <<< "$out")
  wasm_best[$p]=$(awk '/^run [0-9]+:/ { sub(/s$/, "", $3); if (b == "" || $3 < b) b = $3 } END { print b }' <<< "$out")
  cmp -s "$WORK/$p.native.out" "$WORK/$p.wasm.out" || die "$p printed different reports natively and in wasm"
done

echo
printf 'input: %d MiB of text (%d bytes); best of %d runs; wasm = executor run (%s) incl. archive and root\n' "$SIZE_MIB" "$BYTES" "$RUNS" "$ISOLATION"
printf '%-10s %10s %10s %10s %10s %14s\n' program native MB/s wasm MB/s 'wasm/native'
for p in "${PROGRAMS[@]}"; do
  n=${native_best[$p]} w=${wasm_best[$p]}
  printf '%-10s %9ss %10s %9ss %10s %14s\n' "$p" "$n" "$(mbs "$n" "$BYTES")" "$w" "$(mbs "$w" "$BYTES")" \
    "$(awk -v a="$w" -v b="$n" 'BEGIN { printf "%.2f", a / b }')"
done
for p in "${PROGRAMS[@]}"; do
  printf '%s first wasm run (compiling the module): %ss\n' "$p" "${wasm_first[$p]}"
done
