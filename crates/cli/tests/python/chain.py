"""What the binary's Python tests share: a failed check, the node's JSON-RPC (RPC_URL), the API's
JSON (RUNS_API_URL), and USDC balances (USDC), all from the environment the Rust test sets."""

import json
import os
import urllib.request

RPC = os.environ["RPC_URL"]
API = os.environ["RUNS_API_URL"].rstrip("/")
USDC = os.environ["USDC"]


def check(condition, what, detail=None):
    if not condition:
        raise AssertionError(f"{what}: {detail!r}" if detail is not None else what)


def rpc(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(RPC, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    check("error" not in answer, f"{method} failed", answer)
    return answer["result"]


def call(to, data):
    return int(rpc("eth_call", [{"to": to, "data": data}, "latest"]), 16)


def usdc_balance(address):
    return call(USDC, "0x70a08231" + address[2:].lower().rjust(64, "0"))


def api(path):
    with urllib.request.urlopen(API + path, timeout=30) as response:
        return json.load(response)
