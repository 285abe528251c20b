#!/usr/bin/env bash
# The S3 gateway against the CLI on one localnet: PUT and GET of one file
# through `aws s3 cp` (multipart, 8 MiB parts) next to `stratusd storage
# put` and `get` of the same file, and the gateway's peak resident memory.
# See docs/benchmarks.md.
#
#   SIZE_MIB=256 RUNS=3 scripts/bench-s3.sh
#
# Needs aws-cli (Debian's awscli) and GNU time is not needed: the
# gateway's memory is read from /proc while it runs. The localnet lives in
# a temp dir on ports shifted by PORT_OFFSET (default 21000) and is stopped
# and deleted at the end. GATEWAY_TLS=1 serves the gateway over HTTPS
# (aws-cli's GETs are slower over TLS: docs/benchmarks.md). The gateway
# uploads parity shards itself (its --direct default), so each run also
# times `storage put --direct`: the gateway's PUT against the CLI on the
# same terms.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-3}
export PORT_OFFSET=${PORT_OFFSET:-21000}
export GATEWAY_TLS=${GATEWAY_TLS:-0}
AWS=${AWS:-/usr/bin/aws}

die() { printf 'bench-s3: %s\n' "$*" >&2; exit 1; }
[[ -x $AWS ]] || die "$AWS not found: install awscli (or set AWS)"
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive number"
make build > /dev/null || die "make build failed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-bench-s3.XXXXXX")
export LOCALNET_DIR=$WORK/localnet
cleanup() {
  [[ -n ${PEAK_PID:-} ]] && kill "$PEAK_PID" 2> /dev/null || true
  [[ -d $LOCALNET_DIR ]] && "$ROOT/scripts/localnet.sh" stop > /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export TMPDIR=$WORK

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# busy prints the CPU seconds the whole machine has been busy so far
# (/proc/stat, all processes: the gateway, providers and clients alike).
busy() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; printf "%.2f", (t - $5 - $6) / hz; exit }' /proc/stat; }

FILE=$WORK/object.bin
head -c $((SIZE_MIB << 20)) /dev/urandom > "$FILE"
echo "starting a localnet with the gateway in $LOCALNET_DIR (PORT_OFFSET=$PORT_OFFSET)"
"$ROOT/scripts/localnet.sh" start > "$WORK/start.log" 2>&1 || die "the localnet did not start: $(tail -n 5 "$WORK/start.log")"
CLI=("$ROOT/build/stratusd" --home "$LOCALNET_DIR/client")
EP=http://127.0.0.1:$((9000 + PORT_OFFSET))
unset AWS_CA_BUNDLE
if [[ $GATEWAY_TLS == 1 ]]; then
  EP=https://127.0.0.1:$((9000 + PORT_OFFSET))
  export AWS_CA_BUNDLE=$LOCALNET_DIR/tls/ca.pem
fi
export AWS_ACCESS_KEY_ID=stratus AWS_SECRET_ACCESS_KEY=$(cat "$LOCALNET_DIR/gateway/secret") AWS_DEFAULT_REGION=us-east-1
GW_PID=$(cat "$LOCALNET_DIR/gateway.pid")
# Sample the gateway's peak RSS (VmHWM) in the background.
# VmHWM counts the executable's pages read from disk (page cache the
# kernel can drop); RssAnon is the memory the gateway itself holds.
(anon=0; while kill -0 "$GW_PID" 2> /dev/null; do
  awk '/VmHWM/ { print $2 }' "/proc/$GW_PID/status" > "$WORK/gw.hwm" 2> /dev/null || true
  a=$(awk '/RssAnon/ { print $2 }' "/proc/$GW_PID/status" 2> /dev/null || echo 0)
  [[ ${a:-0} -gt $anon ]] && anon=$a && echo "$anon" > "$WORK/gw.anon"
  sleep 0.2
done) &
PEAK_PID=$!

# rclone (Go, aws-sdk-go) as a second S3 client, when installed: its
# multipart upload (5 MiB parts, 4 at a time) and its download.
RCLONE=${RCLONE:-$(command -v rclone || true)}
if [[ -n $RCLONE ]]; then
  export RCLONE_CONFIG_GW_TYPE=s3 RCLONE_CONFIG_GW_PROVIDER=Other RCLONE_CONFIG_GW_ENDPOINT=$EP \
    RCLONE_CONFIG_GW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_GW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    RCLONE_CONFIG_GW_REGION=us-east-1 RCLONE_CONFIG_GW_NO_CHECK_BUCKET=true RCLONE_CONFIG=/dev/null
  RC=("$RCLONE" -q)
  [[ $GATEWAY_TLS == 1 ]] && RC+=(--ca-cert "$AWS_CA_BUNDLE")
fi

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
"$AWS" --endpoint-url "$EP" s3 mb s3://bench > /dev/null
# Each run puts and gets once each way, interleaved, so both share the
# machine's noise; the medians are reported. A new key per run: nothing
# is read from the gateway's cache.
cli_puts=() direct_puts=() cli_gets=() s3_puts=() s3_gets=() rc_puts=() rc_gets=() cli_get_cpus=()
for run in $(seq 1 "$RUNS"); do
  t0=$(now); "${CLI[@]}" storage put "$FILE" --from alice --duration 2000 > "$WORK/id" 2> /dev/null || die "storage put failed"; t1=$(now)
  cli_puts+=("$(sub "$t1" "$t0")"); id=$(tail -n 1 "$WORK/id")
  t0=$(now); "${CLI[@]}" storage put "$FILE" --from alice --duration 2000 --direct > /dev/null 2>&1 || die "storage put --direct failed"; t1=$(now)
  direct_puts+=("$(sub "$t1" "$t0")")
  t0=$(now); "$AWS" --endpoint-url "$EP" s3 cp "$FILE" "s3://bench/object-$run.bin" --only-show-errors || die "aws s3 cp up failed"; t1=$(now)
  s3_puts+=("$(sub "$t1" "$t0")")
  b0=$(busy); t0=$(now); "${CLI[@]}" storage get "$id" -o "$WORK/cli.out" --from alice 2> /dev/null || die "storage get failed"; t1=$(now)
  cli_gets+=("$(sub "$t1" "$t0")") cli_get_cpus+=("$(sub "$(busy)" "$b0")"); cmp -s "$FILE" "$WORK/cli.out" || die "storage get differs"; rm -f "$WORK/cli.out"
  t0=$(now); "$AWS" --endpoint-url "$EP" s3 cp "s3://bench/object-$run.bin" "$WORK/s3.out" --only-show-errors || die "aws s3 cp down failed"; t1=$(now)
  s3_gets+=("$(sub "$t1" "$t0")"); cmp -s "$FILE" "$WORK/s3.out" || die "the gateway's GET differs"; rm -f "$WORK/s3.out"
  rc=""
  if [[ -n $RCLONE ]]; then
    t0=$(now); "${RC[@]}" copyto "$FILE" "gw:bench/rclone-$run.bin" || die "rclone copyto up failed"; t1=$(now)
    rc_puts+=("$(sub "$t1" "$t0")")
    t0=$(now); "${RC[@]}" copyto "gw:bench/rclone-$run.bin" "$WORK/rc.out" || die "rclone copyto down failed"; t1=$(now)
    rc_gets+=("$(sub "$t1" "$t0")"); cmp -s "$FILE" "$WORK/rc.out" || die "rclone's GET differs"; rm -f "$WORK/rc.out"
    rc=", rclone put ${rc_puts[-1]}s get ${rc_gets[-1]}s"
  fi
  echo "run $run: storage put ${cli_puts[-1]}s (--direct ${direct_puts[-1]}s), aws put ${s3_puts[-1]}s, storage get ${cli_gets[-1]}s, aws get ${s3_gets[-1]}s$rc"
done
# The floor aws-cli itself sets: a GET served wholly from the gateway's
# cache (object-1 was fetched above).
b0=$(busy); t0=$(now); "$AWS" --endpoint-url "$EP" s3 cp "s3://bench/object-1.bin" "$WORK/s3.out" --only-show-errors || die "aws s3 cp down failed"; t1=$(now)
s3_cached=$(sub "$t1" "$t0") s3_cached_cpu=$(sub "$(busy)" "$b0"); cmp -s "$FILE" "$WORK/s3.out" || die "the gateway's cached GET differs"; rm -f "$WORK/s3.out"
# And rclone's (it checks the object's MD5 as it writes it).
if [[ -n $RCLONE ]]; then
  b0=$(busy); t0=$(now); "${RC[@]}" copyto "gw:bench/rclone-1.bin" "$WORK/rc.out" || die "rclone copyto down failed"; t1=$(now)
  rc_cached=$(sub "$t1" "$t0") rc_cached_cpu=$(sub "$(busy)" "$b0"); cmp -s "$FILE" "$WORK/rc.out" || die "the gateway's cached GET to rclone differs"; rm -f "$WORK/rc.out"
fi
direct_put=$(median "${direct_puts[@]}")
cli_put=$(median "${cli_puts[@]}") s3_put=$(median "${s3_puts[@]}") cli_get=$(median "${cli_gets[@]}") s3_get=$(median "${s3_gets[@]}")
cli_get_cpu=$(median "${cli_get_cpus[@]}")

printf 'object                 %d MiB, stored 6+3, median of %d runs\n' "$SIZE_MIB" "$RUNS"
printf '%-22s %8ss\n' "stratusd storage put" "$cli_put" "storage put --direct" "$direct_put" "aws s3 cp (PUT)" "$s3_put" "stratusd storage get" "$cli_get" "aws s3 cp (GET)" "$s3_get"
printf '%-22s %8ss\n' "aws s3 cp (GET, cached)" "$s3_cached"
# What a GET through the gateway adds to a storage get is at least the S3
# client's own work, which its GET of a cached object shows: the machine's
# busy CPU seconds (all processes) during each, on its cores.
printf 'busy CPU: storage get %s s (median), aws GET of a cached object %s s, on %d cores\n' "$cli_get_cpu" "$s3_cached_cpu" "$(nproc)"
printf 'ratio PUT              %s\n' "$(ratio "$s3_put" "$cli_put")"
printf 'ratio PUT to --direct  %s\n' "$(ratio "$s3_put" "$direct_put")"
if [[ -n $RCLONE ]]; then
  rc_put=$(median "${rc_puts[@]}") rc_get=$(median "${rc_gets[@]}")
  printf '%-22s %8ss\n' "rclone copyto (PUT)" "$rc_put" "rclone copyto (GET)" "$rc_get" "rclone (GET, cached)" "$rc_cached"
  printf 'ratio PUT, rclone      %s (to --direct %s)\n' "$(ratio "$rc_put" "$cli_put")" "$(ratio "$rc_put" "$direct_put")"
  printf 'ratio GET, rclone      %s\n' "$(ratio "$rc_get" "$cli_get")"
  printf 'busy CPU: rclone GET of a cached object %s s\n' "$rc_cached_cpu"
fi
printf 'ratio GET              %s\n' "$(ratio "$s3_get" "$cli_get")"
printf 'gateway peak RSS       %s MiB\n' "$(awk '{ printf "%.0f", $1 / 1024 }' "$WORK/gw.hwm")"
printf 'gateway peak RssAnon   %s MiB\n' "$(awk '{ printf "%.0f", $1 / 1024 }' "$WORK/gw.anon")"
