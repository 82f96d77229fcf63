"""A webhook receiver for crates/cli/tests/it/webhook.rs.

Verifies every delivery with the README's own Python `verify` (Python's `hmac`, a verifier no one
here wrote), and appends one JSON line per request to LOG: the path, the headers, the body, whether
it verified, and whether a copy 301 seconds old would have been accepted. Each path answers as
configured (`POST /_config` with {"secrets": {path: secret}, "modes": {path: mode}}): `ok` (200),
`gone` (410), `fail` (503) or `slow:SECONDS` (logs the request, then waits before answering 200).

Usage: python webhook_receiver.py PORT LOG README CONFIG (the first configuration, as JSON)
"""

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG, README, CONFIG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

# The README's verifier, exactly as printed there.
source = open(README, encoding="utf-8").read()
block = re.search(r"<!-- webhook-verify-python -->\n```python\n(.*?)```", source, re.S)
if block is None:
    sys.exit("the README has no <!-- webhook-verify-python --> block")
namespace = {}
exec(block.group(1), namespace)  # noqa: S102 - the documented snippet under test
verify = namespace["verify"]

config = {"secrets": {}, "modes": {}}
config.update(json.loads(CONFIG))
lock = threading.Lock()


def record(entry):
    with lock:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_config":
            update = json.loads(body)
            with lock:
                for key in ("secrets", "modes"):
                    config[key].update(update.get(key, {}))
            return self.answer(204)
        with lock:
            secret = config["secrets"].get(self.path)
            mode = config["modes"].get(self.path, "ok")
        headers = {name: self.headers.get(name) for name in (
            "Runs-Event-Id", "Runs-Delivery-Id", "Runs-Timestamp", "Runs-Signature", "Content-Type")}
        verified = secret is not None and verify(secret, self.headers, body)
        stale = secret is not None and verify(
            secret, self.headers, body, now=int(self.headers["Runs-Timestamp"]) + 301)
        record({"path": self.path, "headers": headers, "body": body.decode(), "verified": verified,
                "staleAccepted": stale, "mode": mode, "at": time.time()})
        if not verified:
            return self.answer(401)
        if mode.startswith("slow:"):
            time.sleep(float(mode.split(":", 1)[1]))
            return self.answer(200)
        self.answer({"ok": 200, "gone": 410, "fail": 503}[mode])


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.daemon_threads = True
print("listening", flush=True)
server.serve_forever()
