#!/usr/bin/env bash
# Benchmark (not a test; not part of script/test): the REST API at a million runs.
#
# 1. Creates (if missing) the Postgres database runs_bench_api, runs `runs db migrate`, and seeds
#    it with bench/api/seed.sql (--runs, default 1,000,000 runs, ~3.5M events, 1,000 agents);
#    an existing seed of the same size is reused (--reseed forces a new one).
# 2. Starts `runs serve` (release build) on a free port, with its response cache.
# 3. Loads each endpoint at 64 connections for --duration seconds, saturated (wrk) and at a fixed
#    rate of half the saturated page-1 throughput (oha, three runs each, median p99 reported):
#      list        GET /api/runs?state=OPEN&minReward=100&limit=20              (page 1)
#      deep cursor the same, 10,000 pages deep via `cursor`                      (page 10,000)
#      run by id   GET /api/runs/{id}                                            (random ids)
#      zipf        GET /api/runs/{id}, ids Zipf-distributed (s = 1), with the cache's hit rate
#    and runs pgbench with the statements the handler sends for one request (same SQL text,
#    literal values, `-M prepared`, 64 clients), so the table shows what HTTP, JSON and the
#    pool cost on top of the database. Then restarts `runs serve --no-cache` and loads the same
#    endpoints again (saturated), so both modes are compared with the same pgbench figures.
# 4. Checks with EXPLAIN (ANALYZE) that page 1 and the deep page read an index (no seq scan, no
#    sort), prints the markdown table and writes it to bench/results/api.md, stops the server.
#
# Options: --runs N  --duration SECS  --connections N  --reseed
#   --profile  also samples every CPU (perf, apt-get install linux-perf) during one more no-cache
#              page-1 load and adds where the time went, by process and by part of the server
# Environment: BENCH_PG_URL (server, default postgres://postgres@127.0.0.1:5432),
# BENCH_PG_SSLMODE (default disable, for the server and pgbench alike), RUST_LOG.
# Load generators: `wrk` (apt-get install wrk) for the saturating loads; `oha` (optional; cargo
# install oha --root ~/.cache/runs-bench-tools) for the latencies at a fixed rate. Looked up on
# PATH and in ~/.cache/runs-bench-tools/bin.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runs-target}"
export PATH="$PATH:$HOME/.cache/runs-bench-tools/bin"

runs=1000000
duration=10
connections=64
reseed=0
profile=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --reseed) reseed=1; shift ;;
    --profile) profile=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

chain=31337
agents=1000
limit=20
deep_page=10000
min_reward_units=100000000 # minReward=100 (whole USDC) in base units
pg_server="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
pg_server="${pg_server%/}"
db=runs_bench_api
# Server and pgbench alike connect without TLS: on loopback it only adds CPU work to both sides
# (BENCH_PG_SSLMODE=require to measure with it).
db_url="$pg_server/$db?sslmode=${BENCH_PG_SSLMODE:-disable}"
threads=2

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
psql_db() { psql "$db_url" -X -q -v ON_ERROR_STOP=1 "$@"; }

command -v psql >/dev/null || die "psql missing (apt-get install postgresql-client)"
command -v pgbench >/dev/null || die "pgbench missing (apt-get install postgresql-contrib)"
command -v wrk >/dev/null || die "wrk missing (apt-get install wrk)"
[ "$profile" = 0 ] || command -v perf >/dev/null || die "perf missing (apt-get install linux-perf)"
# oha (optional) measures latency at a fixed request rate, which a saturating load cannot show.
have_oha=0
command -v oha >/dev/null && have_oha=1
[ "$runs" -ge $(((deep_page + 1) * limit * 4)) ] ||
  die "--runs $runs is too small for a page $deep_page deep"

# Postgres: up, or started if this machine has a service for it.
pg_ready() { psql "$pg_server/postgres" -X -qtAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_ready; then
  say "Postgres is not answering at $pg_server; trying to start it"
  if command -v service >/dev/null; then service postgresql start >/dev/null 2>&1 || true; fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || die "Postgres is not running at $pg_server"
fi

say "building runs (release)"
cargo build --release --locked -p runs-cli --bin runs >&2
bin="$CARGO_TARGET_DIR/release/runs"

work="$(mktemp -d -t bench-api.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- database ----------------------------------------------------------------------------------
if [ "$(psql "$pg_server/postgres" -X -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  say "creating database $db"
  psql "$pg_server/postgres" -X -q -c "CREATE DATABASE $db"
fi
"$bin" db migrate --database-url "$db_url" >/dev/null
seeded="$(psql_db -tAc "SELECT (SELECT count(*) FROM runs WHERE chain_id = $chain)
  || '/' || (SELECT count(*) FROM checkpoint WHERE chain_id = $chain)")"
if [ "$reseed" = 1 ] || [ "$seeded" != "$runs/1" ]; then
  say "seeding $runs runs (one-off; takes a few minutes)"
  started=$SECONDS
  psql_db -v runs="$runs" -v agents="$agents" -v chain="$chain" -f bench/api/seed.sql >/dev/null
  say "seeded in $((SECONDS - started)) s"
else
  say "reusing the seeded database ($runs runs; --reseed to redo)"
fi
psql_db -c "ANALYZE runs" # statistics as after autovacuum, also for a reused seed

# ---- the SQL the handlers send (crates/db/src/read.rs), with the values they bind ---------------
# A run read carries the indexed head in the same statement (uncorrelated subqueries).
head_cols=""
for col in number hash parent_hash timestamp; do
  head_cols+="(SELECT $col FROM checkpoint WHERE chain_id = $chain) AS head_$col, "
done
# The select lists of crates/db/src/columns.rs (`Table::qualified_select_list`): every column
# but chain_id, amounts and JSON read as text. Taken from the catalog, so a column added to the
# schema is read here as the server reads it.
select_list() { # table alias -> "alias.col, alias.amount::text AS amount, ..."
  psql_db -tAc "SELECT string_agg(CASE WHEN data_type IN ('numeric', 'json', 'jsonb')
      THEN '$2' || column_name || '::text AS ' || column_name ELSE '$2' || column_name END,
      ', ' ORDER BY ordinal_position)
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = '$1' AND column_name <> 'chain_id'"
}
run_cols="$(select_list runs r.), a.stake::text AS agent_stake, a.pending_unstake::text AS agent_pending"
run_from="FROM runs r LEFT JOIN agents a ON a.chain_id = r.chain_id AND a.agent_id = r.agent_id WHERE r.chain_id = $chain"
run_select="SELECT $head_cols$run_cols $run_from"
amount="'$(printf '%078d' "$min_reward_units")'::numeric" # amount_text: zero-padded, cast
filter="AND r.state = 'OPEN' AND r.reward >= $amount"
order="ORDER BY r.created_at DESC, r.run_id DESC LIMIT $((limit + 1))" # one extra row: has_more
list_sql="$run_select $filter $order;"

# The deep page's cursor, built from the data: the last row of page deep_page-1.
read -r deep_at deep_id < <(psql_db -tA -F ' ' -c "SELECT r.created_at, r.run_id FROM runs r
  WHERE r.chain_id = $chain $filter ORDER BY r.created_at DESC, r.run_id DESC
  OFFSET $(((deep_page - 1) * limit - 1)) LIMIT 1")
read -r p2_at p2_id < <(psql_db -tA -F ' ' -c "SELECT r.created_at, r.run_id FROM runs r
  WHERE r.chain_id = $chain $filter ORDER BY r.created_at DESC, r.run_id DESC
  OFFSET $((limit - 1)) LIMIT 1")
# crates/api/src/format.rs: base64url (no padding) of v1|sort|order|value|runId|page.
cursor() { printf 'v1|createdAt|desc|%s|%s|%s' "$1" "$2" "$3" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
deep_cursor="$(cursor "$deep_at" "$deep_id" "$deep_page")"
page2_cursor="$(cursor "$p2_at" "$p2_id" 2)"
deep_sql="$run_select $filter AND (r.created_at, r.run_id) < ($deep_at, $deep_id) $order;"
get_sql="$run_select AND r.run_id = :id;"
events_sql="SELECT $(select_list events "") FROM events WHERE chain_id = $chain AND run_id = :id ORDER BY block_number, log_index;"

# One pgbench transaction = the statements the handler sends for one request: the listing (with
# the head), or the run (with the head) and its events. The chain parameters and a listing's
# COUNT(*) are cached per indexed block (crates/api/src/lib.rs), so a steady load at a fixed
# head does not send them.
printf '%s\n' "$list_sql" >"$work/list.sql"
printf '%s\n' "$deep_sql" >"$work/deep.sql"
printf '\\set id random(1, %s)\n%s\n%s\n' "$runs" "$get_sql" "$events_sql" >"$work/get.sql"

# ---- plans --------------------------------------------------------------------------------------
# The server's statements are prepared with bound parameters; after five executions Postgres may
# switch to a generic plan, so both the plan for the literal values and the generic plan of the
# prepared statement are checked.
prep_head=""
n=1
for col in number hash parent_hash timestamp; do
  prep_head+="(SELECT $col FROM checkpoint WHERE chain_id = \$$n) AS head_$col, "
  n=$((n + 1))
done
prep_select="SELECT $prep_head$run_cols ${run_from/r.chain_id = $chain/r.chain_id = \$5}"
list_prep="$prep_select AND r.state = \$6 AND r.reward >= \$7::numeric ORDER BY r.created_at DESC, r.run_id DESC LIMIT \$8"
deep_prep="$prep_select AND r.state = \$6 AND r.reward >= \$7::numeric AND (r.created_at, r.run_id) < (\$8, \$9) ORDER BY r.created_at DESC, r.run_id DESC LIMIT \$10"
amount_text="'$(printf '%078d' "$min_reward_units")'"
explain() { # name literal-sql prepare-types prepared-sql execute-args
  local plan generic
  plan="$(psql_db -tA -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${2%;}")"
  generic="$(psql_db -tA <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE q($3) AS $4;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q($5);
SQL
)"
  printf '#### %s, literal values\n\n```\n%s\n```\n\n#### %s, generic plan of the prepared statement\n\n```\n%s\n```\n\n' \
    "$1" "$plan" "$1" "$generic" >>"$work/plans.md"
  # An index scan on runs, and neither a seq scan of runs nor a sort, in both plans.
  if grep -qE 'Seq Scan on runs|Sort \(|Sort$' <<<"$plan$generic" ||
    ! grep -qE 'Index (Only )?Scan.* on runs' <<<"$plan" ||
    ! grep -qE 'Index (Only )?Scan.* on runs' <<<"$generic"; then
    printf '%s' "no index"
  else
    grep -oE 'Index (Only )?Scan( Backward)? using [a-z_]+ on runs' <<<"$generic" | head -1 |
      sed -E 's/.* using ([a-z_]+) on runs/\1/'
  fi
}
: >"$work/plans.md"
chains="$chain, $chain, $chain, $chain, $chain"
plan_list="$(explain "page 1" "$list_sql" "bigint, bigint, bigint, bigint, bigint, text, text, bigint" \
  "$list_prep" "$chains, 'OPEN', $amount_text, $((limit + 1))")"
plan_deep="$(explain "page $deep_page (cursor)" "$deep_sql" \
  "bigint, bigint, bigint, bigint, bigint, text, text, bigint, bigint, bigint" \
  "$deep_prep" "$chains, 'OPEN', $amount_text, $deep_at, $deep_id, $((limit + 1))")"

# ---- server -------------------------------------------------------------------------------------
mkdir -p "$work/deployments"
start_server() { # extra serve flags… -> sets $base and $server_pid
  RUST_LOG="${RUST_LOG:-warn}" "$bin" serve --database-url "$db_url" --listen 127.0.0.1:0 \
    --chain-id "$chain" --deployments "$work/deployments" "$@" >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  base=""
  for _ in $(seq 1 100); do
    base="$(sed -nE 's#^listening on (http://[0-9.:]+).*#\1#p' "$work/serve.out")"
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err" >&2; die "runs serve exited"; }
    sleep 0.1
  done
  [ -n "$base" ] || die "runs serve did not report its address"
  say "runs serve $* on $base (pid $server_pid)"
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
start_server

list_path="/api/runs?state=OPEN&minReward=100&limit=$limit"
deep_path="$list_path&cursor=$deep_cursor"

# Sanity: the constructed cursors are the ones the API issues, and the pages hold what SQL says.
page1="$(curl -fsS "$base$list_path")"
[ "$(jq -r .nextCursor <<<"$page1")" = "$page2_cursor" ] ||
  die "page 1's nextCursor is not the cursor built from the data (format changed?)"
deep="$(curl -fsS "$base$deep_path")"
expect_first="$(psql_db -tAc "SELECT r.run_id FROM runs r WHERE r.chain_id = $chain $filter
  ORDER BY r.created_at DESC, r.run_id DESC OFFSET $(((deep_page - 1) * limit)) LIMIT 1")"
[ "$(jq -r '.runs[0].bountyId' <<<"$deep")" = "$expect_first" ] &&
  [ "$(jq -r '.pagination.page' <<<"$deep")" = "$deep_page" ] &&
  [ "$(jq -r '.runs | length' <<<"$deep")" = "$limit" ] ||
  die "the deep page is not page $deep_page of the listing"
total="$(jq -r .pagination.total <<<"$page1")"
curl -fsS "$base/api/runs/$((runs / 2))" | jq -e '.events | length > 0' >/dev/null ||
  die "GET /api/runs/{id} returned no events"

# ---- loads --------------------------------------------------------------------------------------
to_ms() { # wrk/oha latency (e.g. 850.00us, 1.23ms, 1.01s) -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.2f", n }'
}

cat >"$work/ids.lua" <<EOF
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/runs/" .. math.random(1, $runs))
end
EOF

# Zipf-distributed ids (s = 1): id = floor(N^u) for a uniform u, so id k is drawn with a
# probability close to 1 / (k ln N): a few runs are asked for very often, most rarely.
cat >"$work/zipf.lua" <<EOF
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/runs/" .. math.floor($runs ^ math.random()))
end
EOF

http_load() { # name path|@ids|@zipf -> "rps p50 p99 errors" (wrk, saturating: every connection busy)
  local name="$1" target="$2" out rps p50 p99 errors
  say "load: $name (wrk, $connections connections, ${duration}s)"
  if [ "$target" = @ids ] || [ "$target" = @zipf ]; then
    out="$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/${target#@}.lua" "$base/")"
  else
    out="$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$base$target")"
  fi
  rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")"
  # No answers is a broken server or load, not a figure: stop rather than tabulate zeros.
  [ "${rps:-0}" -gt 0 ] || { printf '%s\n' "$out" >&2; die "$name: wrk got no answers"; }
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
  errors="$(awk '/Non-2xx/ { print $NF } /Socket errors/ { print "socket" }' <<<"$out" | paste -sd+ -)"
  printf '%s %s %s %s\n' "$rps" "$p50" "$p99" "${errors:-0}"
}

rate_load() { # name path|@ids rate -> "p50 p99 errors" (oha at a fixed rate, latency-corrected)
  local name="$1" target="$2" rate="$3" out
  say "load: $name (oha, $connections connections, $rate req/s, ${duration}s)"
  if [ "$target" = @ids ]; then # 6-digit ids, uniform over 100000..999999
    out="$(oha -z "${duration}s" -c "$connections" -q "$rate" --latency-correction --no-tui \
      --output-format json --rand-regex-url "$base/api/runs/[1-9][0-9]{5}")"
  else
    out="$(oha -z "${duration}s" -c "$connections" -q "$rate" --latency-correction --no-tui \
      --output-format json "$base$target")"
  fi
  [ "$(jq -r '.statusCodeDistribution["200"] // 0' <<<"$out")" -gt 0 ] || {
    jq -c '{summary, statusCodeDistribution, errorDistribution}' <<<"$out" >&2
    die "$name: oha got no 200 answers"
  }
  jq -r '[((.latencyPercentiles.p50 // 0) * 1000 * 100 | round / 100),
    ((.latencyPercentiles.p99 // 0) * 1000 * 100 | round / 100),
    ([.statusCodeDistribution | to_entries[] | select(.key != "200") | .value] | add // 0)]
    | @tsv' <<<"$out" | tr '\t' ' '
}

# The fixed-rate p99 of one 10-second window swings with the shared machine's scheduling (a
# single stall of the VM is 1% of a window's requests), so each is measured three times and the
# run with the median p99 is reported, with all three p99s beside it.
rate_load3() { # name path|@ids rate -> "p50 p99 errors p99,p99,p99"
  local runs=() line
  for _ in 1 2 3; do runs+=("$(rate_load "$@")"); done
  line="$(printf '%s\n' "${runs[@]}" | sort -g -k2,2 | sed -n 2p)"
  printf '%s %s\n' "$line" "$(printf '%s\n' "${runs[@]}" | cut -d' ' -f2 | paste -sd, -)"
}

pg_load() { # name script clients -> "tps p50 p99"
  local name="$1" script="$2" clients="$3" dir
  say "pgbench: $name ($clients clients, ${duration}s)"
  dir="$(mktemp -d -p "$work")"
  (cd "$dir" && pgbench "$db_url" -n -M prepared -c "$clients" -j "$threads" -T "$duration" \
    -f "$script" -l >"$dir/out" 2>"$dir/err") || { cat "$dir/err" >&2; die "pgbench failed"; }
  local tps
  tps="$(awk '/^tps = / { printf "%.0f", $3 }' "$dir/out")"
  # Per-transaction log: client, tx, latency in µs, ...
  cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n >"$dir/lat"
  local n p50 p99
  n="$(wc -l <"$dir/lat")"
  p50="$(awk -v k=$(((n * 50 + 99) / 100)) 'NR == k { printf "%.2f", $1 / 1000 }' "$dir/lat")"
  p99="$(awk -v k=$(((n * 99 + 99) / 100)) 'NR == k { printf "%.2f", $1 / 1000 }' "$dir/lat")"
  printf '%s %s %s\n' "$tps" "$p50" "$p99"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# The machine's speed drifts by tens of percent over minutes (a shared VM), so the HTTP load and
# the pgbench run it is compared with are taken back to back, twice, alternating; the table shows
# the means and the per-round ratios.
paired() { # name path|@ids pgbench-script -> "rps p50 p99 errors tps pg_p50 pg_p99 ratio,ratio"
  local name="$1" target="$2" script="$3" hs=() ps=() i
  for _ in 1 2; do
    hs+=("$(http_load "$name" "$target")")
    ps+=("$(pg_load "$name" "$script" "$connections")")
  done
  printf '%s\n' "${hs[@]}" | awk '{ r += $1; a += $2; b += $3; e = e (NR > 1 ? "+" : "") $4 }
    END { printf "%.0f %.2f %.2f %s ", r / NR, a / NR, b / NR, e }'
  printf '%s\n' "${ps[@]}" | awk '{ t += $1; a += $2; b += $3 }
    END { printf "%.0f %.2f %.2f ", t / NR, a / NR, b / NR }'
  for i in 0 1; do
    [ "$i" = 0 ] || printf ','
    ratio "${hs[$i]%% *}" "${ps[$i]%% *}"
  done
  printf '\n'
}

# Warm the server (pool, statement cache, the cached total) and the page cache.
for path in "$list_path" "$deep_path" "/api/runs/1"; do
  for _ in $(seq 1 20); do curl -fsS -o /dev/null "$base$path"; done
done

load_before="$(cut -d' ' -f1 /proc/loadavg)"
read -r h_list_rps h_list_p50 h_list_p99 h_list_err p_list_tps p_list_p50 p_list_p99 list_rounds \
  < <(paired "page 1" "$list_path" "$work/list.sql")
read -r h_deep_rps h_deep_p50 h_deep_p99 h_deep_err p_deep_tps p_deep_p50 p_deep_p99 deep_rounds \
  < <(paired "page $deep_page" "$deep_path" "$work/deep.sql")
# Repeated questions (the cache's best case): the same run over and over; pgbench reads random ids.
read -r h_get_rps h_get_p50 h_get_p99 h_get_err p_get_tps p_get_p50 p_get_p99 get_rounds \
  < <(paired "run by id" "/api/runs/$((runs / 2))" "$work/get.sql")
# Latency below saturation: every endpoint at half of page 1's saturated throughput.
rate=$(((h_list_rps / 2 + 50) / 100 * 100))
[ "$rate" -ge 100 ] || rate=100
if [ "$have_oha" = 1 ]; then
  read -r r_list_p50 r_list_p99 r_list_err r_list_all < <(rate_load3 "page 1" "$list_path" "$rate")
  read -r r_deep_p50 r_deep_p99 r_deep_err r_deep_all < <(rate_load3 "page $deep_page" "$deep_path" "$rate")
  read -r r_get_p50 r_get_p99 r_get_err r_get_all < <(rate_load3 "run by id" "/api/runs/$((runs / 2))" "$rate")
else
  say "oha not found: skipping the fixed-rate latencies (cargo install oha --root ~/.cache/runs-bench-tools)"
  r_list_p50=n/a r_list_p99=n/a r_list_err=0 r_deep_p50=n/a r_deep_p99=n/a r_deep_err=0
  r_get_p50=n/a r_get_p99=n/a r_get_err=0 r_list_all=n/a r_deep_all=n/a r_get_all=n/a
fi

# The mixed workload, with the cache's own count of hits and misses over it.
cache_count() { curl -fsS "$base/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
hits0="$(cache_count runs_api_cache_hits_total)" misses0="$(cache_count runs_api_cache_misses_total)"
read -r z_rps z_p50 z_p99 z_err < <(http_load "run by id, Zipf ids" @zipf)
hits="$(( $(cache_count runs_api_cache_hits_total) - ${hits0:-0} ))"
misses="$(( $(cache_count runs_api_cache_misses_total) - ${misses0:-0} ))"
hit_rate="$(awk -v h="$hits" -v m="$misses" 'BEGIN { if (h + m > 0) printf "%.1f", 100 * h / (h + m); else print "n/a" }')"
cache_bytes="$(cache_count runs_api_cache_bytes)"
stop_server

# Where the CPU goes while the no-cache listing is saturated: every CPU sampled (perf,
# cpu-clock, so it works without hardware counters), samples split by process (the server is its
# tokio workers) and the server's by part, from the symbol names.
profile_load() { # path -> markdown table on stdout
  say "profile: page 1, no cache (wrk under perf record, ${duration}s)"
  perf record -q -a -e cpu-clock -F 999 -o "$work/perf.data" -- \
    wrk -t"$threads" -c"$connections" -d"${duration}s" "$base$1" >"$work/profile-wrk.out" 2>/dev/null ||
    die "perf record failed (as root, or kernel.perf_event_paranoid <= 0)"
  perf report -i "$work/perf.data" -n --no-children --sort comm,sym -g none --stdio -t '|' 2>/dev/null |
    awk -F'|' -v rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/profile-wrk.out")" '
      $1 ~ /%/ {
        # Sample counts, not the printed percentages: thousands of rounded ones do not add up.
        samples = $2 + 0; comm = $3; sym = $4; gsub(/^ +| +$/, "", comm); all += samples
        if (comm == "postgres") part = "Postgres (its processes, kernel time included)"
        else if (comm == "wrk") part = "wrk (the load generator)"
        else if (comm != "tokio-rt-worker" && comm != "runs") part = "anything else"
        else if (sym ~ /\[k\]/) part = "server: kernel (its sockets to the client and to Postgres)"
        else if (sym ~ /sqlx/) part = "server: sqlx (Postgres protocol, row decoding by column name)"
        else if (sym ~ /keccak|checksum/) part = "server: EIP-55 address checksums (keccak)"
        else if (sym ~ /serde/) part = "server: JSON encoding (serde_json)"
        else if (sym ~ /_?mi_[a-z]|malloc|__rust_(re|de)?alloc|[^a-z]free/) part = "server: memory allocation"
        else if (sym ~ /memmove|memcpy|memset/) part = "server: memory copies"
        else if (sym ~ /hyper|axum|tower|http::/) part = "server: HTTP (hyper, axum, tower)"
        else part = "server: the rest (handlers, decoding into domain types, tokio, libc)"
        total[part] += samples
      }
      END {
        printf "| where (page 1, no cache, %s req/s under perf; %d samples) | share of all CPU samples |\n|---|--:|\n", rps, all
        for (part in total) printf "| %s | %.1f%% |\n", part, 100 * total[part] / all
      }' | { read -r head; read -r rule; printf '%s\n%s\n' "$head" "$rule"; sort -t'|' -k3 -rn; }
}

# ---- the same without the cache -----------------------------------------------------------------
start_server --no-cache
for path in "$list_path" "$deep_path" "/api/runs/1"; do
  for _ in $(seq 1 20); do curl -fsS -o /dev/null "$base$path"; done
done
# Paired with pgbench like the cached loads: the ratio of a no-cache load is to the pgbench run
# taken right after it, not to one taken minutes before on a machine whose speed has drifted.
read -r n_list_rps n_list_p50 n_list_p99 n_list_err q_list_tps _ _ n_list_rounds \
  < <(paired "page 1, no cache" "$list_path" "$work/list.sql")
read -r n_deep_rps n_deep_p50 n_deep_p99 n_deep_err q_deep_tps _ _ n_deep_rounds \
  < <(paired "page $deep_page, no cache" "$deep_path" "$work/deep.sql")
read -r n_get_rps n_get_p50 n_get_p99 n_get_err q_get_tps _ _ n_get_rounds \
  < <(paired "run by id, no cache" @ids "$work/get.sql")
read -r nz_rps nz_p50 nz_p99 nz_err < <(http_load "run by id, Zipf ids, no cache" @zipf)
[ "$profile" = 0 ] || profile_load "$list_path" >"$work/profile.md"
stop_server

# ---- report -------------------------------------------------------------------------------------
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
yes_no() { if "$@"; then printf 'yes'; else printf '**no**'; fi; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
min() { printf '%s\n' "$@" | sort -g | head -1; }

r_list="$(ratio "$h_list_rps" "$p_list_tps")"
r_deep="$(ratio "$h_deep_rps" "$p_deep_tps")"
r_get="$(ratio "$h_get_rps" "$p_get_tps")"
deep_p99="$(ratio "$h_deep_p99" "$h_list_p99")"
deep_rps="$(ratio "$h_list_rps" "$h_deep_rps")"
if [ "$have_oha" = 1 ]; then
  ok_p99="$(yes_no le "$(max "$r_list_p99" "$r_deep_p99" "$r_get_p99")" 5)"
else
  ok_p99="not measured (no oha)"
fi
ok_ratio="$(yes_no le 2 "$(min "$r_list" "$r_deep" "$r_get")")"
n_list="$(ratio "$n_list_rps" "$q_list_tps")"
n_deep="$(ratio "$n_deep_rps" "$q_deep_tps")"
n_get="$(ratio "$n_get_rps" "$q_get_tps")"
ok_nocache="$(yes_no le 0.7 "$(min "$n_list" "$n_deep" "$n_get")")"
ok_deep="$(yes_no eval 'le "$deep_p99" 1.2 && le "$deep_rps" 1.2')"
ok_plan="$(yes_no test "$plan_list" != "no index" -a "$plan_deep" != "no index")"
errors="$h_list_err+$h_deep_err+$h_get_err+$r_list_err+$r_deep_err+$r_get_err+$z_err+$n_list_err+$n_deep_err+$n_get_err+$nz_err"

mkdir -p bench/results
out="bench/results/api.md"
{
  printf '### API benchmark: %s runs on Postgres\n\n' "$runs"
  printf '%s, %s cores, PostgreSQL %s, load average %s before the loads; server, database and ' \
    "$(date -u +%Y-%m-%d)" "$(nproc)" "$(psql_db -tAc 'SHOW server_version' | cut -d' ' -f1)" "$load_before"
  printf 'load generators share the machine; Postgres over loopback TCP with `sslmode=%s` for the ' "${BENCH_PG_SSLMODE:-disable}"
  printf 'server and pgbench alike. %s s per measurement, %s connections. ' "$duration" "$connections"
  printf '`state=OPEN&minReward=100` matches %s runs (`pagination.total`).\n\n' "$total"
  printf '| endpoint | cached req/s | p50 / p99 ms | p50 / p99 ms at %s req/s | pgbench tx/s | pgbench p50 / p99 ms | cached / pgbench | no cache req/s | p50 / p99 ms | pgbench tx/s | no cache / pgbench |\n' "$rate"
  printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
  row() { # label then the 14 figures of one endpoint
    printf '| %s | %s | %s / %s | %s / %s | %s | %s / %s | %s | %s | %s / %s | %s | %s |\n' "$@"
  }
  row "\`GET $list_path\` (page 1)" "$h_list_rps" "$h_list_p50" "$h_list_p99" "$r_list_p50" "$r_list_p99" \
    "$p_list_tps" "$p_list_p50" "$p_list_p99" "$r_list" "$n_list_rps" "$n_list_p50" "$n_list_p99" "$q_list_tps" "$n_list"
  row "same, page $deep_page via \`cursor\`" "$h_deep_rps" "$h_deep_p50" "$h_deep_p99" "$r_deep_p50" "$r_deep_p99" \
    "$p_deep_tps" "$p_deep_p50" "$p_deep_p99" "$r_deep" "$n_deep_rps" "$n_deep_p50" "$n_deep_p99" "$q_deep_tps" "$n_deep"
  row "\`GET /api/runs/{id}\` (cached: one id repeated; no cache and pgbench: random ids)" \
    "$h_get_rps" "$h_get_p50" "$h_get_p99" "$r_get_p50" "$r_get_p99" \
    "$p_get_tps" "$p_get_p50" "$p_get_p99" "$r_get" "$n_get_rps" "$n_get_p50" "$n_get_p99" "$q_get_tps" "$n_get"
  printf '| `GET /api/runs/{id}`, Zipf ids (s = 1): **%s%% hits** (%s hits, %s misses; %s bytes cached) | %s | %s / %s | | | | %s | %s | %s / %s | | %s |\n' \
    "$hit_rate" "$hits" "$misses" "$cache_bytes" "$z_rps" "$z_p50" "$z_p99" "$(ratio "$z_rps" "$p_get_tps")" \
    "$nz_rps" "$nz_p50" "$nz_p99" "$(ratio "$nz_rps" "$q_get_tps")"
  printf '\n'
  printf -- '- **req/s, p50, p99**: wrk, %s connections each sending its next request as soon as the ' "$connections"
  printf 'previous one is answered (saturation: the latency is the queue, about connections / throughput). '
  printf 'Means of two rounds, each wrk run followed by its pgbench run; the ratios of the rounds: '
  printf 'page 1 %s, page %s %s, by id %s.\n' "$list_rounds" "$deep_page" "$deep_rounds" "$get_rounds"
  printf -- '- **at %s req/s**: oha at a fixed rate (half of page 1'"'"'s saturated throughput), %s connections, ' "$rate" "$connections"
  printf 'latency corrected for coordinated omission: the latency a client sees below saturation. '
  printf 'Three runs each; the run with the median p99 is shown (p99s of all three: page 1 %s, ' "$r_list_all"
  printf 'page %s %s, by id %s).\n' "$deep_page" "$r_deep_all" "$r_get_all"
  printf -- '- **no cache**: the same saturating loads against `runs serve --no-cache`, paired with pgbench the '
  printf 'same way (means of two rounds; the ratios of the rounds: page 1 %s, page %s %s, by id %s). **Zipf**' \
    "$n_list_rounds" "$deep_page" "$n_deep_rounds" "$n_get_rounds"
  printf ': run ids drawn as floor(N^u), u uniform, from '
  printf 'the cache as the loads above left it; the hit rate is the cache'"'"'s own count (`/metrics`) over that load.\n'
  printf -- '- **pgbench**: `-M prepared`, %s clients; one transaction = the statements the handler sends for ' "$connections"
  printf 'one request, same SQL text (the select lists of every column, as the server reads them) with the '
  printf 'bound values as literals: the listing (which reads the indexed head in the same statement), '
  printf 'or the run (with the head) and its events.\n\n'
  printf '| target | result | met |\n|---|---|---|\n'
  printf '| p99 <= 5 ms for all three (at %s req/s) | %s / %s / %s ms | %s |\n' "$rate" \
    "$r_list_p99" "$r_deep_p99" "$r_get_p99" "$ok_p99"
  printf '| cached req/s >= 2x pgbench | %s / %s / %s | %s |\n' "$r_list" "$r_deep" "$r_get" "$ok_ratio"
  printf '| no cache req/s >= 0.7x pgbench | %s / %s / %s | %s |\n' "$n_list" "$n_deep" "$n_get" "$ok_nocache"
  printf '| deep page within 1.2x of page 1 (saturated) | p99 %sx, req/s %sx | %s |\n' "$deep_p99" "$deep_rps" "$ok_deep"
  printf '| both pages read an index (EXPLAIN ANALYZE) | page 1: `%s`, page %s: `%s` | %s |\n' \
    "$plan_list" "$deep_page" "$plan_deep" "$ok_plan"
  if [ "$(awk -F+ '{ for (i = 1; i <= NF; i++) if ($i != 0) n++; print n + 0 }' <<<"$errors")" != 0 ]; then
    printf '\nNon-2xx or socket errors (wrk x6, oha x3 medians): %s\n' "$errors"
  fi
  if [ "$profile" = 1 ]; then
    printf '\n#### Where the time goes without the cache\n\n'
    cat "$work/profile.md"
  fi
  printf '\n<details><summary>Plans (EXPLAIN ANALYZE)</summary>\n\n'
  cat "$work/plans.md"
  printf '</details>\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
say "written to $out"
