#!/usr/bin/env bash
# Benchmark (not a test; not part of script/test): `runs index` backfilling into Postgres and into
# SQLite, beside raw eth_getLogs over the same ranges and raw commits of the same batches.
# Starts its own anvil (.bin/anvil) on a free port, checks Postgres, builds `runs` and
# crates/bench (bench-indexer) in release mode, prints the table and writes it to
# bench/results/indexer.md (indexer-<events>.md for another --events). Extra arguments go to bench-indexer (see --help), e.g.
#   bench/indexer.sh --events 20000 --rounds 1 --backend postgres
# Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), RUST_LOG, RUNS_LOG
# (the measured `runs index`, default warn).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runs-target}"
export BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

say() { printf '==> %s\n' "$*" >&2; }

[ -x .bin/anvil ] || { echo "bench: .bin/anvil missing, run script/setup first" >&2; exit 1; }

# Postgres: up, or started if this machine has a service for it.
pg_host="$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#' <<<"$BENCH_PG_URL")"
pg_port="$(sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p' <<<"$BENCH_PG_URL")"
pg_port="${pg_port:-5432}"
pg_ready() { pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; }
if command -v pg_isready >/dev/null && ! pg_ready; then
  say "Postgres is not answering on $pg_host:$pg_port; trying to start it"
  if command -v service >/dev/null; then service postgresql start >/dev/null 2>&1 || true; fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || { echo "bench: Postgres is not running at $pg_host:$pg_port" >&2; exit 1; }
fi

say "compiling the bulk poster (tests/mocks/BulkPoster.sol)"
PATH="$root/.bin:$PATH" forge build tests/mocks/BulkPoster.sol >&2

say "building runs and bench-indexer (release)"
cargo build --release --locked -p runs-cli --bin runs -p runs-bench --bin bench-indexer >&2

# A block gas limit far above mainnet's: hundreds of createAndFund per transaction. Anvil forks an
# empty anvil (bench/anvil.sh: otherwise every block recomputes the whole state trie and the chain
# is generated in quadratic time) and keeps no old states (--prune-history).
. bench/anvil.sh
start_anvil --fork-empty --gas-limit 3000000000 --prune-history 128

# The default chain's report is indexer.md; any other size's is indexer-<events>.md.
events=100000
prev=""
for arg in "$@"; do
  case "$arg" in --events=*) events="${arg#--events=}" ;; esac
  [ "$prev" = "--events" ] && events="$arg"
  prev="$arg"
done
mkdir -p bench/results
out="bench/results/indexer.md"
[ "$events" = 100000 ] || out="bench/results/indexer-$events.md"
"$CARGO_TARGET_DIR/release/bench-indexer" --rpc-url "$rpc" --runs-bin "$CARGO_TARGET_DIR/release/runs" "$@" >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
say "written to $out"
