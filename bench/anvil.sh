# Sourced by the benchmark scripts: `start_anvil [ANVIL FLAGS…]` starts .bin/anvil on a free port
# (never a fixed one), waits until it answers, sets $rpc and stops it when the script exits.
start_anvil() {
  local port log
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  log="$(mktemp -t bench-anvil.XXXXXX.log)"
  .bin/anvil --port "$port" --silent "$@" >"$log" 2>&1 &
  anvil_pid=$!
  anvil_log="$log"
  trap 'kill "$anvil_pid" 2>/dev/null || true; wait "$anvil_pid" 2>/dev/null || true; rm -f "$anvil_log"' EXIT
  rpc="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    .bin/cast block-number --rpc-url "$rpc" >/dev/null 2>&1 && break
    kill -0 "$anvil_pid" 2>/dev/null || { cat "$log" >&2; echo "bench: anvil exited" >&2; exit 1; }
    sleep 0.1
  done
  printf '==> anvil on %s (pid %s)\n' "$rpc" "$anvil_pid" >&2
}
