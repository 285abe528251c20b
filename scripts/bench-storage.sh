#!/usr/bin/env bash
# `stratusd storage put` and `storage get` of one large file on a throwaway
# localnet, against a plain HTTP upload and download (curl to a trivial
# sink) of the same file over loopback. See docs/benchmarks.md.
#
#   scripts/bench-storage.sh
#
# SIZE_MIB (default 1024) sets the file size; CURL_RUNS (default 3) how
# many times curl uploads and downloads it (the median is the baseline).
# It also times a put of 1 KiB (the chain's share of a put) and, unless
# FLOOR=0, runs the floor benchmarks of client/ (the work a put and a get
# must do, without network) at the same size.
# MODES lists the deals to time, side by side on one localnet (default
# "replicas:$REPLICAS", REPLICAS defaulting to 3): "replicas:N" keeps N
# copies, "scheme:K+M" erasure-codes
# the file; for a scheme, get is timed again with the holders of the first
# M data shards killed (they are restarted after). For example
#
#   MODES="replicas:3 scheme:6+3" scripts/bench-storage.sh
#
# (The localnet's commit timeout of 30 blocks is too short for two
# providers to fetch 4 GiB over TLS on 2 cores: measure the client's memory
# on 4 GiB with REPLICAS=1.) The binaries are built with
# `make build` unless STRATUSD and STRATUS_PROVIDER name built ones. The
# localnet lives in a temp dir on ports shifted by PORT_OFFSET (default
# 20000), beside any other localnet, and is stopped and deleted at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE_MIB=${SIZE_MIB:-1024}
REPLICAS=${REPLICAS:-3}
MODES=${MODES:-replicas:$REPLICAS}
export PORT_OFFSET=${PORT_OFFSET:-20000}

die() { printf 'bench-storage: %s\n' "$*" >&2; exit 1; }
for tool in curl go make head awk cmp date; do
  command -v "$tool" > /dev/null || die "$tool is not installed; it is needed to run this benchmark"
done
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive number, not '$SIZE_MIB'"

if [[ -z ${STRATUSD:-} && -z ${STRATUS_PROVIDER:-} ]]; then
  echo "building (make build)"
  make build > /dev/null || die "make build failed"
fi
export STRATUSD=${STRATUSD:-$ROOT/build/stratusd}
export STRATUS_PROVIDER=${STRATUS_PROVIDER:-$ROOT/build/stratus-provider}
[[ -x $STRATUSD ]] || die "$STRATUSD is not an executable; run 'make build' or set STRATUSD"
[[ -x $STRATUS_PROVIDER ]] || die "$STRATUS_PROVIDER is not an executable; run 'make build' or set STRATUS_PROVIDER"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-bench-storage.XXXXXX")
export LOCALNET_DIR=$WORK/localnet
SINK_PID=""
cleanup() {
  local rc=$?
  if [[ -n $SINK_PID ]]; then
    kill "$SINK_PID" 2> /dev/null || true
    wait "$SINK_PID" 2> /dev/null || true
  fi
  if [[ -d $LOCALNET_DIR ]]; then
    "$ROOT/scripts/localnet.sh" stop > /dev/null || echo "bench-storage: stopping the localnet in $LOCALNET_DIR failed" >&2
  fi
  if [[ $rc -ne 0 && -n ${KEEP_ON_FAILURE:-} ]]; then
    echo "bench-storage: failed; logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The client's put temp file (the ciphertext) goes to TMPDIR: keep it in WORK.
export TMPDIR=$WORK
CLI=("$STRATUSD" --home "$LOCALNET_DIR/client")
# With GNU time, each CLI run's peak resident memory is recorded too.
TIMED=()
if [[ -x /usr/bin/time ]]; then TIMED=(/usr/bin/time -f %M -o); fi
timed() { # timed NAME cmd...: runs cmd, with its peak RSS (KiB) in $WORK/NAME.rss
  local name=$1; shift
  if [[ ${#TIMED[@]} -gt 0 ]]; then "${TIMED[@]}" "$WORK/$name.rss" "$@"; else "$@"; fi
}
rss() { [[ -f $WORK/$1.rss ]] && awk '{ printf "%.0f MiB", $1 / 1024 }' "$WORK/$1.rss" || echo "n/a"; }

now() { date +%s.%N; }
# cpu prints the machine's busy and total CPU time so far (jiffies, from
# /proc/stat: user nice system idle iowait irq softirq steal); busy A B is
# the share of the machine's CPU time that was busy between two of them.
# A put or get near 100% is bound by this machine's cores, not by waiting.
cpu() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
busy() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f%%", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
mbs() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.0f", n / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
# stamp prefixes each line with the wall-clock time (UTC, as the provider
# logs are), to see where the time of a put or get goes.
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$line"; done; }

FILE=$WORK/plain.bin
BYTES=$((SIZE_MIB * 1024 * 1024))
echo "writing $SIZE_MIB MiB of random bytes"
head -c "$BYTES" /dev/urandom > "$FILE"
go build -o "$WORK/httpsink" ./scripts/httpsink || die "building scripts/httpsink failed"

echo "starting a localnet in $LOCALNET_DIR (PORT_OFFSET=$PORT_OFFSET)"
"$ROOT/scripts/localnet.sh" start > "$WORK/localnet-start.log" 2>&1 \
  || die "the localnet did not start: $(tail -n 5 "$WORK/localnet-start.log")"

cat "$FILE" > /dev/null # into the page cache before anything is timed

# held ID: the bytes providers keep for deal ID, over all their stores.
held() {
  local total=0 f
  for f in "$LOCALNET_DIR"/provider*/data/deals/"$1"/data; do
    [[ -f $f ]] && total=$((total + $(stat -c %s "$f")))
  done
  echo "$total"
}

# get_timed NAME ID: storage get of deal ID, checked byte-exact; the
# seconds it took in $secs, the machine's busy CPU share in $gbusy.
get_timed() {
  local t0 t1 c0
  c0=$(cpu)
  t0=$(now)
  timed "$1" "${CLI[@]}" storage get "$2" -o "$WORK/get.bin" --from alice 2> >(stamp | tee "$WORK/$1.err" >&2) || die "storage get ($1) failed"
  t1=$(now)
  gbusy=$(busy "$c0" "$(cpu)")
  wait
  secs=$(sub "$t1" "$t0")
  cmp -s "$FILE" "$WORK/get.bin" || die "storage get ($1) returned different bytes from the file put"
  rm -f "$WORK/get.bin"
}

ROWS=()
for mode in $MODES; do
  case $mode in
    replicas:*) flags=(--replicas "${mode#replicas:}"); label="${mode#replicas:} replicas" ;;
    scheme:*) flags=(--scheme "${mode#scheme:}"); label="${mode#scheme:}" ;;
    *) die "MODES: '$mode' is neither replicas:N nor scheme:K+M" ;;
  esac
  tag=${mode//[:+]/-}
  echo
  echo "== storage put ($label)"
  c0=$(cpu)
  t0=$(now)
  timed "put-$tag" "${CLI[@]}" storage put "$FILE" --from alice "${flags[@]}" --duration 2000 \
    > "$WORK/put.out" 2> >(stamp | tee "$WORK/put-$tag.err" >&2) || die "storage put ($label) failed"
  t1=$(now)
  pbusy=$(busy "$c0" "$(cpu)")
  wait # the stamp process substitution
  id=$(tail -n 1 "$WORK/put.out")
  [[ $id =~ ^[0-9]+$ ]] || die "storage put printed no deal id: $(cat "$WORK/put.out")"
  put=$(sub "$t1" "$t0")
  echo "provider log lines for deal $id:"
  grep -H "deal=$id " "$LOCALNET_DIR"/provider*.log \
    | sed 's|^.*/\(provider[0-9]*\)\.log:time=[0-9-]*T\([^ ]*\)Z|  \2 \1|' | sort || true
  stored=$(held "$id")

  echo
  echo "== storage get ($label)"
  get_timed "get-$tag" "$id"
  get=$secs
  ROWS+=("$label|$put|$get|$(ratio "$stored" "$BYTES")|$(rss "put-$tag")|$(rss "get-$tag")|$pbusy|$gbusy")
  if [[ $mode == scheme:* ]]; then
    m=${mode#*+}
    # The holders of data shards 0..m-1, from the slot table of 'storage status'.
    addrs=$("${CLI[@]}" storage status "$id" | awk -v m="$m" '$1 ~ /^[0-9]+$/ && NF >= 4 && $2 < m { print $3 }')
    for addr in $addrs; do
      for pidf in "$LOCALNET_DIR"/provider*.pid; do
        i=${pidf##*/provider}; i=${i%.pid}
        if [[ $("${CLI[@]}" keys show "provider$i" -a 2> /dev/null) == "$addr" ]]; then kill "$(cat "$pidf")"; fi
      done
    done
    sleep 1
    echo
    echo "== storage get ($label, $m providers killed)"
    get_timed "get-$tag-down" "$id"
    ROWS+=("$label, $m down|-|$secs|-|-|$(rss "get-$tag-down")|-|$gbusy")
    "$ROOT/scripts/localnet.sh" start > /dev/null 2>&1 || die "restarting the killed providers failed"
  fi
done
[[ ${#ROWS[@]} -gt 0 ]] || die "MODES is empty"
IFS='|' read -r _ put get _ _ _ _ _ <<< "${ROWS[0]}"

# The chain's share of a put: a 1 KiB put of the first mode waits for the
# same two blocks (the deal's, then the commits') with next to no bytes.
first=${MODES%% *}
case $first in
  replicas:*) flags=(--replicas "${first#replicas:}") ;;
  scheme:*) flags=(--scheme "${first#scheme:}") ;;
esac
head -c 1024 /dev/urandom > "$WORK/small.bin"
echo
echo "== storage put of 1 KiB ($first): the chain's share"
t0=$(now)
"${CLI[@]}" storage put "$WORK/small.bin" --from alice "${flags[@]}" --duration 2000 > /dev/null 2> "$WORK/put-small.err" \
  || die "storage put of 1 KiB failed: $(tail -n 3 "$WORK/put-small.err")"
t1=$(now)
small=$(sub "$t1" "$t0")
echo "$small s"

echo
echo "== plain HTTP (curl to scripts/httpsink)"
"$WORK/httpsink" -file "$FILE" -dir "$WORK" > "$WORK/sink.addr" 2> "$WORK/sink.log" &
SINK_PID=$!
addr=""
for _ in $(seq 1 50); do
  addr=$(head -n 1 "$WORK/sink.addr")
  [[ -n $addr ]] && break
  kill -0 "$SINK_PID" 2> /dev/null || die "httpsink exited: $(cat "$WORK/sink.log")"
  sleep 0.1
done
[[ -n $addr ]] || die "httpsink printed no address"
# curl's own time moves by a sixth between runs (it writes into page-cache
# pages that are fresh or not, depending on what ran before): the median
# of CURL_RUNS (default 3) of each is the baseline.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
CURL_RUNS=${CURL_RUNS:-3}
[[ $CURL_RUNS =~ ^[1-9][0-9]*$ ]] || die "CURL_RUNS must be a positive number, not '$CURL_RUNS'"
puts=() gets=()
for _ in $(seq 1 "$CURL_RUNS"); do
  t0=$(now)
  curl -sSf -T "$FILE" "http://$addr/upload" -o /dev/null || die "curl upload to httpsink failed"
  t1=$(now)
  puts+=("$(sub "$t1" "$t0")")
  # A new file each time: curl truncating the last one would make ext4
  # write that one out first (auto_da_alloc), which is not curl's time.
  rm -f "$WORK/curl.bin"
  t0=$(now)
  curl -sSf "http://$addr/download" -o "$WORK/curl.bin" || die "curl download from httpsink failed"
  t1=$(now)
  gets+=("$(sub "$t1" "$t0")")
  [[ $(stat -c %s "$WORK/curl.bin") -eq $BYTES ]] || die "curl downloaded $(stat -c %s "$WORK/curl.bin") bytes, not $BYTES"
done
echo "curl upload runs: ${puts[*]} s; download runs: ${gets[*]} s"
hput=$(median "${puts[@]}")
hget=$(median "${gets[@]}")

# The floor (FLOOR=0 skips it): the work the protocol makes a put of 3
# replicas and a private get do, alone, in one process, with no network,
# TLS or chain (BenchmarkFloorPut, BenchmarkFloorGet in client/). No
# implementation does less on this machine: its CPU time over the
# machine's cores bounds the wall time from below.
FLOOR=${FLOOR:-1}
if [[ $FLOOR == 1 ]]; then
  # On a quiet machine: the localnet is done.
  "$ROOT/scripts/localnet.sh" stop > /dev/null || die "stopping the localnet failed"
  echo
  echo "== the floor: go test ./client -bench 'Floor(Put|Get)' at $SIZE_MIB MiB"
  STRATUS_BENCH_FLOOR_MIB=$SIZE_MIB go test ./client -run '^$' -bench '^BenchmarkFloor(Put|Get)$' -benchtime 3x -count 1 \
    > "$WORK/floor.txt" 2>&1 || die "the floor benchmarks failed: $(tail -n 5 "$WORK/floor.txt")"
  grep '^BenchmarkFloor' "$WORK/floor.txt"
  # floor NAME FIELD: the wall seconds (ns/op) or the CPU seconds of the file.
  floor() {
    awk -v name="$1" -v field="$2" -v mib="$SIZE_MIB" '$1 ~ "^BenchmarkFloor" name "-" {
      for (i = 2; i < NF; i++) {
        if ($(i + 1) == "ns/op" && field == "wall") printf "%.2f", $i / 1e9
        if ($(i + 1) == "cpu-s/GiB" && field == "cpu") printf "%.2f", $i * mib / 1024
      }
    }' "$WORK/floor.txt"
  }
  cores=$(nproc)
  fput_cpu=$(floor Put cpu) fget_cpu=$(floor Get cpu) fget_wall=$(floor Get wall)
  fput=$(awk -v c="$fput_cpu" -v n="$cores" -v s="$small" 'BEGIN { printf "%.2f", c / n + s }')
fi

echo
printf 'file                    %d MiB (%d bytes)\n' "$SIZE_MIB" "$BYTES"
printf '%-23s %8ss  %6s MB/s\n' "storage put" "$put" "$(mbs "$put" "$BYTES")" \
  "curl upload (median)" "$hput" "$(mbs "$hput" "$BYTES")" \
  "storage get" "$get" "$(mbs "$get" "$BYTES")" \
  "curl download (median)" "$hget" "$(mbs "$hget" "$BYTES")"
printf 'ratio put / upload      %s\n' "$(ratio "$put" "$hput")"
printf 'ratio get / download    %s\n' "$(ratio "$get" "$hget")"
echo
printf '%-22s %9s %9s %9s %11s %11s %9s %9s\n' "deal" "put (s)" "get (s)" "held/file" "put memory" "get memory" "put CPU" "get CPU"
for row in "${ROWS[@]}"; do
  IFS='|' read -r label p g o mp mg pb gb <<< "$row"
  printf '%-22s %9s %9s %9s %11s %11s %9s %9s\n' "$label" "$p" "$g" "$o" "$mp" "$mg" "$pb" "$gb"
done
echo "(put CPU, get CPU: the share of the machine's CPU time busy during the command, all processes)"
echo "(a put of 1 KiB took $small s: the chain's share of any put)"
if [[ $FLOOR == 1 ]]; then
  echo
  printf 'floor of a get          %8ss  (%s CPU-s in one process, no network; ratio to curl download %s)\n' \
    "$fget_wall" "$fget_cpu" "$(ratio "$fget_wall" "$hget")"
  printf 'floor of a put          %8ss  (%s CPU-s for 3 replicas, no network, over %d cores, + the chain'"'"'s %s s; ratio to curl upload %s)\n' \
    "$fput" "$fput_cpu" "$cores" "$small" "$(ratio "$fput" "$hput")"
fi
