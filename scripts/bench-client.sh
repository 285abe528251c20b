#!/usr/bin/env bash
# Client sealing (age encryption plus the Merkle tree of the ciphertext, as
# `stratusd storage put` does before creating the deal) against sha256sum of
# the same file. See docs/benchmarks.md.
#
#   scripts/bench-client.sh
#
# SIZE_MIB (default 1024) sets the file size, RUNS (default 3) how many times
# each is timed; the best run of each counts. The file is read once before
# any timing, so both read it from the page cache. When openssl is
# installed, `openssl dgst -sha256` is timed too: coreutils' sha256sum may not
# use the CPU's SHA instructions, which Go's crypto/sha256 and openssl do.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}

die() { printf 'bench-client: %s\n' "$*" >&2; exit 1; }
for tool in go sha256sum head awk; do
  command -v "$tool" > /dev/null || die "$tool is not installed; it is needed to run this benchmark"
done
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive number, not '$SIZE_MIB'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-bench-client.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The benchmark writes its ciphertext under TMPDIR: keep it in WORK.
export TMPDIR=$WORK

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
mbs() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.0f", n / s / 1e6 }'; }

FILE=$WORK/plain.bin
BYTES=$((SIZE_MIB * 1024 * 1024))
echo "writing $SIZE_MIB MiB of random bytes"
head -c "$BYTES" /dev/urandom > "$FILE"
echo "compiling the client benchmark"
go test -c -o "$WORK/client.test" ./client
cat "$FILE" > /dev/null # into the page cache before either is timed

OPENSSL=$(command -v openssl || true)
best_sha="" best_ossl="" best_seal=""
for ((run = 1; run <= RUNS; run++)); do
  t0=$(now)
  sha256sum "$FILE" > /dev/null
  t1=$(now)
  sha=$(sub "$t1" "$t0")
  ossl=""
  if [[ -n $OPENSSL ]]; then
    t0=$(now)
    "$OPENSSL" dgst -sha256 "$FILE" > /dev/null
    t1=$(now)
    ossl=$(sub "$t1" "$t0")
    best_ossl=$(min "$ossl" "$best_ossl")
  fi

  out=$(STRATUS_BENCH_SEAL_FILE=$FILE "$WORK/client.test" -test.run '^$' \
    -test.bench '^BenchmarkSealFile$' -test.benchtime 1x) || die "the seal benchmark failed: $out"
  ns=$(awk '/^BenchmarkSealFile/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ns/op") print $i }' <<< "$out")
  [[ -n $ns ]] || die "no BenchmarkSealFile result in: $out"
  seal=$(awk -v ns="$ns" 'BEGIN { printf "%.3f", ns / 1e9 }')

  printf 'run %d: sha256sum %ss (%s MB/s)%s, seal %ss (%s MB/s)\n' "$run" "$sha" "$(mbs "$sha" "$BYTES")" \
    "${ossl:+, openssl sha256 ${ossl}s ($(mbs "$ossl" "$BYTES") MB/s)}" "$seal" "$(mbs "$seal" "$BYTES")"
  best_sha=$(min "$sha" "$best_sha")
  best_seal=$(min "$seal" "$best_seal")
done

echo
printf 'file          %d MiB (%d bytes)\n' "$SIZE_MIB" "$BYTES"
printf 'sha256sum     %ss  %s MB/s  (best of %d)\n' "$best_sha" "$(mbs "$best_sha" "$BYTES")" "$RUNS"
[[ -z $best_ossl ]] || printf 'openssl       %ss  %s MB/s  (best of %d; dgst -sha256)\n' "$best_ossl" "$(mbs "$best_ossl" "$BYTES")" "$RUNS"
printf 'seal          %ss  %s MB/s  (best of %d; encrypt + merkle + write ciphertext)\n' "$best_seal" "$(mbs "$best_seal" "$BYTES")" "$RUNS"
printf 'ratio         seal / sha256sum = %s\n' "$(awk -v a="$best_seal" -v b="$best_sha" 'BEGIN { printf "%.2f", a / b }')"
[[ -z $best_ossl ]] || printf 'ratio         seal / openssl sha256 = %s\n' "$(awk -v a="$best_seal" -v b="$best_ossl" 'BEGIN { printf "%.2f", a / b }')"
