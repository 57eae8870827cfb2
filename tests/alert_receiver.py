"""A local HTTP server standing in for a customer's webhook endpoint or Slack, for the alert tests.

It keeps every request (path, headers, raw body), answers with `status`, and can hang on its
first requests (`hang_first` seconds, for the worker-crash test). Nothing of ours is faked.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float

    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Nagle and delayed ACKs would add ~40 ms to every answer on loopback.
    disable_nagle_algorithm = True
    server: AlertReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = Received(self.path, {key.lower(): value for key, value in self.headers.items()}, body,
                            time.monotonic())
        with self.server.lock:
            self.server.received.append(received)
            hang = self.server.hang_first > 0 and len(self.server.received) == 1
        if hang:
            time.sleep(self.server.hang_seconds)
        answer = self.server.answer.encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


class AlertReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, status: int = 200, answer: str = "ok", hang_first: int = 0,
                 hang_seconds: float = 30.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.answer = answer
        self.hang_first = hang_first
        self.hang_seconds = hang_seconds
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()

    def wait_for(self, condition: Any, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [received for received in self.received if condition(received)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)
