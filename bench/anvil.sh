# Sourced by the benchmark scripts: `start_anvil [ANVIL FLAGS…]` starts .bin/anvil on a free port
# (never a fixed one), waits until it answers, sets $rpc and stops it when the script exits.
# `start_anvil --fork-empty [FLAGS…]` first starts a bare anvil and has the measured one fork it
# (see below).
start_anvil() {
  anvil_pids=()
  anvil_logs=()
  trap 'kill "${anvil_pids[@]}" 2>/dev/null || true; wait "${anvil_pids[@]}" 2>/dev/null || true; rm -f "${anvil_logs[@]}"' EXIT
  if [ "${1:-}" = "--fork-empty" ]; then
    shift
    # Anvil recomputes the whole state trie for every block it mines, empty ones included: a cost
    # that grows with the state, so generating a large chain is quadratic (100k events took four
    # minutes, 1M would take hours). A fork does not compute state roots (its state is partial),
    # so the chain is generated in linear time. Its own blocks and logs are served as usual.
    anvil_on
    anvil_on "$@" --fork-url "$rpc"
  else
    anvil_on "$@"
  fi
}

anvil_on() {
  local port log pid
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  log="$(mktemp -t bench-anvil.XXXXXX.log)"
  .bin/anvil --port "$port" --silent "$@" >"$log" 2>&1 &
  pid=$!
  anvil_pids+=("$pid")
  anvil_logs+=("$log")
  rpc="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    .bin/cast block-number --rpc-url "$rpc" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "bench: anvil exited" >&2; exit 1; }
    sleep 0.1
  done
  printf '==> anvil on %s (pid %s)\n' "$rpc" "$pid" >&2
}
