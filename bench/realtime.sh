#!/usr/bin/env bash
# Benchmark (not a test; not part of script/test): how fast the event feed reaches consumers.
# Starts its own anvil (.bin/anvil) on a free port, checks Postgres, builds `runs` and
# crates/bench (bench-realtime) in release mode, and measures (see crates/bench/src/realtime.rs):
#   block mined → SSE item (p50/p99 over --blocks, default 1,000), 1,000 concurrent SSE clients
#   on one `runs serve` (memory per client, fan-out delay), webhook deliveries/s and block →
#   delivery. Prints the tables and writes them to bench/results/realtime.md. Extra arguments go
#   to bench-realtime (see --help), e.g.
#   bench/realtime.sh --blocks 200 --clients 200
# Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), RUST_LOG.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runs-target}"
export BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

say() { printf '==> %s\n' "$*" >&2; }

[ -x .bin/anvil ] || { echo "bench: .bin/anvil missing, run script/setup first" >&2; exit 1; }
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "bench: Postgres is not running on 127.0.0.1:5432" >&2; exit 1; }

# A thousand streams need a thousand sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say "building runs and bench-realtime (release)"
cargo build --release --locked -p runs-cli --bin runs -p runs-bench --bin bench-realtime >&2

. bench/anvil.sh
start_anvil

mkdir -p bench/results
out="bench/results/realtime.md"
"$CARGO_TARGET_DIR/release/bench-realtime" --rpc-url "$rpc" --runs-bin "$CARGO_TARGET_DIR/release/runs" "$@" >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
say "written to $out"
