#!/usr/bin/env bash
# Local Stratus network on loopback.
#
#   scripts/localnet.sh start    build genesis if needed and start the nodes
#   scripts/localnet.sh stop     stop the nodes (data kept)
#   scripts/localnet.sh reset    stop the nodes and delete all localnet data
#   scripts/localnet.sh status   show each node's height
#
# VALIDATORS=N (default 1) sets the size of the validator set when the network
# is first created; PORT_OFFSET shifts every port (tests run beside a localnet). LOCALNET_DIR (default build/localnet) holds everything:
# node homes node0..N-1 and the client home `client` with the test keyring.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${STRATUSD:-$ROOT/build/stratusd}
PBIN=${STRATUS_PROVIDER:-$ROOT/build/stratus-provider}
GBIN=${STRATUS_GATEWAY:-$ROOT/build/stratus-gateway}
DIR=${LOCALNET_DIR:-$ROOT/build/localnet}
VALIDATORS=${VALIDATORS:-1}
CHAIN_ID=${CHAIN_ID:-stratus-local}
DENOM=ustrat
CLIENT="$DIR/client"
# Provider daemons started (0 for a chain only). Deals default to 3 replicas,
# so 4 leaves one spare for repair.
PROVIDERS=${PROVIDERS:-12}
# The storage chunk size (Merkle leaf bytes) set when the network is first
# tuned; the chain's default is 1024.
CHUNK_SIZE=${CHUNK_SIZE:-1024}
# Port layout: node i uses base + 100*i (+ PORT_OFFSET, default 0).
PORT_OFFSET=${PORT_OFFSET:-0}
P2P_BASE=$((26656 + PORT_OFFSET)) RPC_BASE=$((26657 + PORT_OFFSET)) GRPC_BASE=$((9090 + PORT_OFFSET))
API_BASE=$((1317 + PORT_OFFSET)) PROM_BASE=$((26660 + PORT_OFFSET))
# Provider i (1-based) serves its HTTP API on PROVIDER_BASE + i.
PROVIDER_BASE=$((8480 + PORT_OFFSET))
# The S3 gateway (GATEWAY=0 to leave it out) listens on GATEWAY_PORT.
GATEWAY=${GATEWAY:-1}
GATEWAY_SCHEME=${GATEWAY_SCHEME:-6+3}
# It backs its index up as a deal at most this often while it changes.
GATEWAY_BACKUP=${GATEWAY_BACKUP:-1m}
GATEWAY_PORT=$((9000 + PORT_OFFSET))
# GATEWAY_TLS=1 serves the gateway over HTTPS, with a certificate of the
# localnet's CA ($DIR/tls/ca.pem: aws --ca-bundle, rclone --ca-cert).
GATEWAY_TLS=${GATEWAY_TLS:-0}

log() { printf '%s\n' "$*"; }
die() { printf 'localnet: %s\n' "$*" >&2; exit 1; }

# toml_set FILE SECTION KEY VALUE: set KEY inside [SECTION] ("" is the top level).
toml_set() {
  local file=$1 section=$2 key=$3 value=$4 tmp
  tmp=$(mktemp)
  awk -v section="$section" -v key="$key" -v value="$value" '
    /^\[/ { cur = substr($0, 2, index($0, "]") - 2) }
    cur == section && $0 ~ "^" key "[ \t]*=" && !done { print key " = " value; done = 1; next }
    { print }
    END { if (!done) exit 3 }
  ' "$file" > "$tmp" || { rm -f "$tmp"; die "no key $key in [$section] of $file"; }
  mv "$tmp" "$file"
}

node_home() { echo "$DIR/node$1"; }
port() { echo $(( $1 + 100 * $2 )); }
cli() { "$BIN" --home "$CLIENT" "$@"; }

is_running() {
  local pidfile="$DIR/node$1.pid"
  [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

node_count() { ls -d "$DIR"/node* 2>/dev/null | grep -c '/node[0-9]*$' || true; }

create() {
  [[ -x $BIN ]] || die "$BIN not found; run 'make build' first"
  [[ $VALIDATORS =~ ^[1-9][0-9]*$ ]] || die "VALIDATORS must be a positive number, not '$VALIDATORS'"
  log "creating a $VALIDATORS-validator network '$CHAIN_ID' in $DIR"
  mkdir -p "$CLIENT"

  local i keys=(admin alice bob)
  for ((i = 0; i < VALIDATORS; i++)); do keys+=("val$i"); done
  for ((i = 1; i <= PROVIDERS; i++)); do keys+=("provider$i"); done
  for k in "${keys[@]}"; do
    cli keys add "$k" --keyring-backend test --output json > "$CLIENT/$k.key.json" 2>&1 \
      || die "creating key $k: $(cat "$CLIENT/$k.key.json")"
  done

  for ((i = 0; i < VALIDATORS; i++)); do
    "$BIN" init "node$i" --chain-id "$CHAIN_ID" --default-denom "$DENOM" --home "$(node_home "$i")" > /dev/null 2>&1 \
      || die "init node$i failed"
  done

  local g0; g0=$(node_home 0)
  local gen=("$BIN" genesis --home "$g0")
  addr() { cli keys show "$1" -a --keyring-backend test; }
  for k in "${keys[@]}"; do
    "${gen[@]}" add-genesis-account "$(addr "$k")" "1000000000000$DENOM" > /dev/null
  done
  "${gen[@]}" set-authority "$(addr admin)" > /dev/null
  for ((i = 0; i < VALIDATORS; i++)); do
    "${gen[@]}" add-member "$(addr "val$i")" validator --description "localnet validator $i" > /dev/null
  done
  for ((i = 1; i <= PROVIDERS; i++)); do
    "${gen[@]}" add-member "$(addr "provider$i")" provider --description "localnet provider $i" > /dev/null
  done
  # Short governance periods so proposals can be tried on the localnet.
  sed -i 's/"voting_period": "[^"]*"/"voting_period": "60s"/; s/"expedited_voting_period": "[^"]*"/"expedited_voting_period": "30s"/' "$g0/config/genesis.json"
  # The first proof window opens in the first block with the genesis length:
  # make it the localnet's 10 blocks (tune_storage sets the rest).
  sed -i 's/"proof_window": "[0-9]*"/"proof_window": "10"/' "$g0/config/genesis.json"

  mkdir -p "$g0/config/gentx"
  for ((i = 0; i < VALIDATORS; i++)); do
    local h; h=$(node_home "$i")
    [[ $i -eq 0 ]] || cp "$g0/config/genesis.json" "$h/config/genesis.json"
    "$BIN" genesis gentx "val$i" "100000000$DENOM" --chain-id "$CHAIN_ID" --moniker "node$i" \
      --home "$h" --keyring-backend test --keyring-dir "$CLIENT" \
      --output-document "$g0/config/gentx/gentx-node$i.json" > /dev/null 2>&1 || die "gentx for node$i failed"
  done
  "$BIN" genesis collect-gentxs --home "$g0" > /dev/null 2>&1 || die "collect-gentxs failed"
  "$BIN" genesis validate --home "$g0" > /dev/null || die "the generated genesis is invalid"

  local peers=""
  for ((i = 0; i < VALIDATORS; i++)); do
    local id; id=$("$BIN" comet show-node-id --home "$(node_home "$i")")
    peers+="${peers:+,}$id@127.0.0.1:$(port $P2P_BASE "$i")"
  done

  for ((i = 0; i < VALIDATORS; i++)); do
    local h cfg app; h=$(node_home "$i"); cfg="$h/config/config.toml"; app="$h/config/app.toml"
    [[ $i -eq 0 ]] || cp "$g0/config/genesis.json" "$h/config/genesis.json"
    toml_set "$cfg" rpc laddr "\"tcp://127.0.0.1:$(port $RPC_BASE "$i")\""
    toml_set "$cfg" rpc pprof_laddr '""'
    toml_set "$cfg" p2p laddr "\"tcp://127.0.0.1:$(port $P2P_BASE "$i")\""
    toml_set "$cfg" p2p persistent_peers "\"$peers\""
    toml_set "$cfg" p2p allow_duplicate_ip true
    toml_set "$cfg" p2p addr_book_strict false
    toml_set "$cfg" consensus timeout_commit '"1s"'
    toml_set "$cfg" instrumentation prometheus true
    toml_set "$cfg" instrumentation prometheus_listen_addr "\"127.0.0.1:$(port $PROM_BASE "$i")\""
    toml_set "$app" api enable true
    toml_set "$app" api address "\"tcp://127.0.0.1:$(port $API_BASE "$i")\""
    toml_set "$app" api enabled-unsafe-cors true
    toml_set "$app" grpc enable true
    toml_set "$app" grpc address "\"127.0.0.1:$(port $GRPC_BASE "$i")\""
  done

  cli config set chain-id "$CHAIN_ID"
  cli config set keyring-backend test
  cli config set node "tcp://127.0.0.1:$RPC_BASE"
}

height() {
  { curl -s --max-time 2 "http://127.0.0.1:$(port $RPC_BASE "$1")/status" || true; } \
    | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'

}

provider_home() { echo "$DIR/provider$1"; }
provider_running() {
  local pidfile="$DIR/provider$1.pid"
  [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# tune_storage shortens the storage windows so proofs, faults and repairs
# happen within a minute on the localnet. Everything else keeps the
# defaults: 8 samples per provider per window (with 10-block windows at
# ~1 s blocks, a provider missing 1% of its bytes is caught within minutes),
# collateral 2x the remaining value, a 10,000 ustrat deal fee, 1 MiB billed
# at least.
tune_storage() {
  local params='{"chunk_size":'"$CHUNK_SIZE"',"max_replicas":16,"min_duration_blocks":10,"max_duration_blocks":"100000000","max_deal_size":"1099511627776","commit_timeout":"30","max_reassignments":3,"proof_window":"10","samples_per_window":8,"max_missed":2,"slash_missed":"1000000000000000","slash_invalid":"50000000000000000","max_repairs_per_block":20,"collateral_ratio":"2000000000000000000","missed_collateral_fraction":"100000000000000000","deal_fee":{"denom":"ustrat","amount":"10000"},"min_billable_bytes":"1048576","max_expiries_per_block":200,"max_data_shards":12,"max_parity_shards":6,"max_label_bytes":2048}'
  # (Decimals travel as integers scaled by 10^18: 0.001, 0.05, 2 and 0.1 above.)
  cli tx storage update-params --params "$params" --from admin -y -o json > "$DIR/tune-storage.json" 2>&1 \
    || die "setting storage params: $(cat "$DIR/tune-storage.json")"
  # (proof_window is 10 from genesis already; commit_timeout says the tx landed.)
  local timeout=""
  for _ in $(seq 1 20); do
    timeout=$(cli q storage params -o json 2>/dev/null | sed -n 's/.*"commit_timeout": *"\([0-9]*\)".*/\1/p')
    [[ $timeout == 30 ]] && return 0
    sleep 0.5
  done
  die "storage params were not applied (commit_timeout is '$timeout'): $(cat "$DIR/tune-storage.json")"
}

# tune_compute shortens the compute phases to the localnet's ~1 s blocks:
# 30 blocks to run and commit, 15 to reveal, runs of at most 10 s.
tune_compute() {
  local params='{"max_inline_program":"262144","max_executors":5,"max_retries":3,"commit_timeout":"30","reveal_timeout":"15","max_inputs":16,"max_args_bytes":"16384","max_limits":{"memory_bytes":"1073741824","timeout_ms":"10000","max_output_bytes":"268435456","fuel":"1000000000000"},"slash_missed":"1000000000000000","slash_dissent":"50000000000000000","cancel_fee":{"denom":"ustrat","amount":"1000"},"max_program_bytes":"67108864","max_input_bytes":"4294967296","input_price_per_mib":{"denom":"ustrat","amount":"10"}}'
  cli tx compute update-params --params "$params" --from admin -y -o json > "$DIR/tune-compute.json" 2>&1 \
    || die "setting compute params: $(cat "$DIR/tune-compute.json")"
  local timeout=""
  for _ in $(seq 1 20); do
    timeout=$(cli q compute params -o json 2>/dev/null | sed -n 's/.*"commit_timeout": *"\([0-9]*\)".*/\1/p')
    [[ $timeout == 30 ]] && return 0
    sleep 0.5
  done
  die "compute params were not applied (commit_timeout is '$timeout'): $(cat "$DIR/tune-compute.json")"
}

# start_providers initialises, registers (once) and starts the provider daemons.
start_providers() {
  [[ $PROVIDERS -gt 0 ]] || return 0
  [[ -x $PBIN ]] || die "$PBIN not found; run 'make build' first"
  local i
  # TLS from a local CA made with the project's own Go code (scripts/devca):
  # the providers serve HTTPS, trust each other through the CA, and the
  # client home holds the CA so the CLI trusts them too.
  local tls="$DIR/tls"
  if [[ ! -f $tls/ca.pem ]]; then
    local names=(); for ((i = 1; i <= PROVIDERS; i++)); do names+=("provider$i"); done
    (cd "$ROOT" && go run ./scripts/devca -dir "$tls" "${names[@]}") || die "making the localnet's TLS certificates"
    cp "$tls/ca.pem" "$CLIENT/provider-ca.pem"
  fi
  for ((i = 1; i <= PROVIDERS; i++)); do
    local h port; h=$(provider_home "$i"); port=$((PROVIDER_BASE + i))
    if [[ ! -f $h/config.toml ]]; then
      [[ -f $tls/provider$i.pem ]] || (cd "$ROOT" && go run ./scripts/devca -dir "$tls" "provider$i") || die "certificate of provider$i"
      "$PBIN" init --home "$h" --moniker "provider$i" --key "provider$i" --keyring-backend test \
        --keyring-dir "$CLIENT" --node "tcp://127.0.0.1:$RPC_BASE" --chain-id "$CHAIN_ID" \
        --listen "127.0.0.1:$port" --endpoint "https://127.0.0.1:$port" --poll 300ms --claim-every 20 --upload-grace 10s \
        --tls-cert "$tls/provider$i.pem" --tls-key "$tls/provider$i-key.pem" --ca-file "$tls/ca.pem" > /dev/null \
        || die "initialising provider$i"
    fi
    if [[ ! -f $h/registered ]]; then
      "$PBIN" register --home "$h" --stake 2000000000ustrat --capacity 10GiB --storage-price 100ustrat \
        > "$h/register.log" 2>&1 || die "registering provider$i: $(cat "$h/register.log")"
      touch "$h/registered"
    fi
    if provider_running "$i"; then continue; fi
    nohup "$PBIN" start --home "$h" > "$DIR/provider$i.log" 2>&1 &
    echo $! > "$DIR/provider$i.pid"
  done
  for ((i = 1; i <= PROVIDERS; i++)); do
    local port=$((PROVIDER_BASE + i)) ok=""
    for _ in $(seq 1 50); do
      if curl -sf --max-time 1 --cacert "$DIR/tls/ca.pem" "https://127.0.0.1:$port/v1/status" > /dev/null; then ok=1; break; fi
      provider_running "$i" || die "provider$i exited; see $DIR/provider$i.log: $(tail -n 3 "$DIR/provider$i.log")"
      sleep 0.2
    done
    [[ -n $ok ]] || die "provider$i does not answer on port $port; see $DIR/provider$i.log"
  done
}

# start_gateway starts the S3 gateway as alice, with a secret made once
# and kept in $DIR/gateway/secret.
start_gateway() {
  [[ $GATEWAY == 1 && $PROVIDERS -gt 0 ]] || return 0
  if [[ ! -x $GBIN ]]; then log "no $GBIN: the S3 gateway is not started (run 'make build')"; return 0; fi
  mkdir -p "$DIR/gateway"
  if [[ ! -f $DIR/gateway/secret ]]; then
    (umask 077; head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/gateway/secret")
  fi
  if [[ -f $DIR/gateway.pid ]] && kill -0 "$(cat "$DIR/gateway.pid")" 2>/dev/null; then return 0; fi
  local scheme=http tlsflags=()
  if [[ $GATEWAY_TLS == 1 ]]; then
    [[ -f $DIR/tls/gateway.pem ]] || (cd "$ROOT" && go run ./scripts/devca -dir "$DIR/tls" gateway) || die "making the S3 gateway's certificate"
    scheme=https tlsflags=(--tls-cert "$DIR/tls/gateway.pem" --tls-key "$DIR/tls/gateway-key.pem")
  fi
  echo "$scheme" > "$DIR/gateway.scheme"
  STRATUS_GATEWAY_SECRET=$(cat "$DIR/gateway/secret") nohup "$GBIN" --home "$CLIENT" --from alice --keyring-backend test \
    --node "tcp://127.0.0.1:$RPC_BASE" --chain-id "$CHAIN_ID" --listen "127.0.0.1:$GATEWAY_PORT" --dir "$DIR/gateway" --scheme "$GATEWAY_SCHEME" --duration 5000 --backup-interval "$GATEWAY_BACKUP" \
    ${tlsflags[@]+"${tlsflags[@]}"} > "$DIR/gateway.log" 2>&1 &
  echo $! > "$DIR/gateway.pid"
  local ok=""
  for _ in $(seq 1 50); do
    if curl -s --max-time 1 --cacert "$DIR/tls/ca.pem" -o /dev/null "$scheme://127.0.0.1:$GATEWAY_PORT/"; then ok=1; break; fi
    kill -0 "$(cat "$DIR/gateway.pid")" 2>/dev/null || die "the S3 gateway exited; see $DIR/gateway.log: $(tail -n 3 "$DIR/gateway.log")"
    sleep 0.2
  done
  [[ -n $ok ]] || die "the S3 gateway does not answer on port $GATEWAY_PORT; see $DIR/gateway.log"
}

start() {
  local n; n=$(node_count)
  local version; version=$("$BIN" version 2>/dev/null || echo unknown)
  if [[ $n -eq 0 ]]; then
    create
    echo "$version" > "$DIR/created-by"
    n=$VALIDATORS
  elif [[ -f $DIR/created-by && $(cat "$DIR/created-by") != "$version" ]]; then
    log "WARNING: this localnet was created by stratusd $(cat "$DIR/created-by"), and stratusd is now $version."
    log "WARNING: if the chain's state or params changed since, run 'make localnet-reset' first."
  fi
  if [[ -n ${VALIDATORS_SET:-} && $VALIDATORS != "$n" ]]; then
    die "the existing localnet has $n validators; run 'make localnet-reset' to create one with $VALIDATORS"
  fi

  local i started=0
  for ((i = 0; i < n; i++)); do
    if is_running "$i"; then log "node$i already running (pid $(cat "$DIR/node$i.pid"))"; continue; fi
    nohup "$BIN" start --home "$(node_home "$i")" > "$DIR/node$i.log" 2>&1 &
    echo $! > "$DIR/node$i.pid"
    started=1
  done

  log "waiting for blocks..."
  local deadline=$((SECONDS + 90)) h=""
  while (( SECONDS < deadline )); do
    h=$(height 0)
    [[ -n $h && $h -ge 2 ]] && break
    for ((i = 0; i < n; i++)); do
      is_running "$i" || die "node$i exited; see $DIR/node$i.log: $(tail -n 3 "$DIR/node$i.log")"
    done
    sleep 1
  done
  [[ -n $h && $h -ge 2 ]] || die "no blocks after 90 s; see $DIR/node0.log"
  if [[ ! -f $DIR/tuned ]]; then
    tune_storage
    tune_compute
    touch "$DIR/tuned"
  fi
  start_providers
  start_gateway

  log ""
  log "Stratus localnet '$CHAIN_ID' is producing blocks (height $h) with $n validator(s)."
  log ""
  for ((i = 0; i < n; i++)); do
    log "  node$i  RPC  http://127.0.0.1:$(port $RPC_BASE "$i")   gRPC 127.0.0.1:$(port $GRPC_BASE "$i")   REST http://127.0.0.1:$(port $API_BASE "$i")   log $DIR/node$i.log"
  done
  for ((i = 1; i <= PROVIDERS; i++)); do
    log "  provider$i  API  https://127.0.0.1:$((PROVIDER_BASE + i))   home $(provider_home "$i")   log $DIR/provider$i.log"
  done
  log ""
  if [[ -f $DIR/gateway.pid ]]; then
    log "  S3 gateway   $(cat "$DIR/gateway.scheme" 2> /dev/null || echo http)://127.0.0.1:$GATEWAY_PORT   access key stratus   secret $(cat "$DIR/gateway/secret")   (as alice; log $DIR/gateway.log)"
  fi
  log "  TLS          providers serve HTTPS with certificates of the local CA $DIR/tls/ca.pem; the CLI trusts it as $CLIENT/provider-ca.pem"
  log "  client home  $CLIENT   (keyring-backend test; chain-id and node set in its client.toml)"
  log "  keys         admin (network authority), alice and bob (users), $(for ((i = 0; i < n; i++)); do printf 'val%d ' "$i"; done)(validators), provider1..provider$PROVIDERS (registered providers)"
  log ""
  log "Try:"
  log "  $BIN --home $CLIENT q membership members"
  log "  $BIN --home $CLIENT tx membership grant-role \$($BIN --home $CLIENT keys show alice -a) provider --from admin -y"
  log "  curl -s http://127.0.0.1:$API_BASE/stratus/membership/v1/members"
  log "  curl -s --cacert $DIR/tls/ca.pem https://127.0.0.1:$((PROVIDER_BASE + 1))/v1/status"
  log "  $BIN --home $CLIENT storage put README.md --from alice    # then: storage get <deal-id> -o copy.md --from alice"
  log "Stop with 'make localnet-stop'; data is kept until 'make localnet-reset'."
  [[ $started -eq 1 ]] || true
}

# stop_pid stops the process in pidfile: SIGTERM, then SIGKILL after
# $2 tenths of seconds. It counts what it stopped in $stopped.
stop_pid() {
  local pidfile=$1 wait=$2
  [[ -f $pidfile ]] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 "$wait"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
}

stop() {
  local pidfile
  stopped=0
  # The gateway first, while the chain runs: it backs its index up as it stops.
  stop_pid "$DIR/gateway.pid" 1200
  for pidfile in "$DIR"/provider*.pid "$DIR"/node*.pid; do
    stop_pid "$pidfile" 100
  done
  log "stopped $stopped process(es)"
}

status() {
  local n i; n=$(node_count)
  [[ $n -gt 0 ]] || { log "no localnet in $DIR"; return; }
  for ((i = 0; i < n; i++)); do
    if is_running "$i"; then log "node$i running, height $(height "$i")"; else log "node$i stopped"; fi
  done
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  reset) stop; rm -rf "$DIR"; log "deleted $DIR" ;;
  status) status ;;
  gateway-start) start_gateway ;;
  gateway-stop) stopped=0; stop_pid "$DIR/gateway.pid" 1200 ;;
  *) die "usage: $0 start|stop|reset|status|gateway-start|gateway-stop" ;;
esac
