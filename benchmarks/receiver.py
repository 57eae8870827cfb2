"""A bare receiver standing in for Chartboost in `make bench`: waits `--latency-ms`, answers status 200.

It checks nothing (the sandbox, `delivery.sandbox`, checks every request; here its work would
share the two cores with what is measured). It records each request's arrival (wall clock),
the device it named and how many items it carried, and serves them on `GET /arrivals`;
`POST /reset` forgets them. HTTP/1.1 keep-alive with Nagle off (a stdlib handler adds ~40 ms
to every request otherwise), and a listen backlog large enough for 128 connections at once.

    python -m benchmarks.receiver --port 8501 --latency-ms 50
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = b'{"status": 200, "message": "Success"}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/reset":
            self.server.reset()
            self._answer(b"{}")
            return
        arrived = time.time()
        time.sleep(self.server.latency)
        self.server.note(arrived, body)
        self._answer(ANSWER)

    def do_GET(self) -> None:
        self._answer(json.dumps(self.server.arrivals_copy()).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, port: int, latency_ms: float) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.latency = latency_ms / 1000
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str, int]] = []

    def note(self, arrived: float, body: bytes) -> None:
        try:
            document = json.loads(body)
            identifiers = document.get("identifiers") or {}
            device = str(identifiers.get("ifa") or identifiers.get("gaid") or identifiers.get("uuid") or "")
            items = len(document.get("track_info") or [])
        except (ValueError, AttributeError):
            device, items = "", 0
        with self.lock:
            self.arrivals.append((arrived, device.replace("-", "").lower(), items))

    def reset(self) -> None:
        with self.lock:
            self.arrivals = []

    def arrivals_copy(self) -> list[tuple[float, str, int]]:
        with self.lock:
            return list(self.arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    options = parser.parse_args()
    Receiver(options.port, options.latency_ms).serve_forever()


if __name__ == "__main__":
    main()
