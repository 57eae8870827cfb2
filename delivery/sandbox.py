"""A local stand-in for Chartboost's level-tracking endpoint, for development, demos and tests.

It checks each request the way the reference describes it (method, path, headers, the
signature recomputed from the body's token, the header's app id and the body's timestamp,
and every key of the body) and answers like Chartboost: HTTP 200 with a JSON `status`.
Failures can be injected at random rates (`manage.py chartboost_sandbox`) or scripted one
answer at a time (tests), and every request is recorded with its arrival time. An outage of
every app can be switched on and off from outside: `POST /sandbox/outage` with
`{"down": true}` (or `{"down": true, "seconds": 60}`) and `{"down": false}`; `GET /sandbox/record`
answers how many requests came, how many carried a body seen before (repeats), and whether it is down.

It speaks HTTP/1.1 keep-alive with Nagle's algorithm off: without that, a stdlib handler
adds ~40 ms to every request.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from delivery import chartboost

logger = logging.getLogger("delivery.sandbox")

LEVEL_PATH = "/event_service/v2/level"
CONTROL_OUTAGE_PATH = "/sandbox/outage"
CONTROL_RECORD_PATH = "/sandbox/record"
BODY_KEYS = {"track_info", "platform", "timestamp", "identifiers", "token", "party", "sdk_version"}
REQUIRED_BODY_KEYS = BODY_KEYS - {"sdk_version"}
ITEM_KEYS = {"event_label", "event_field", "main_level", "sub_level", "description", "data_type"}
# The reference: fields 2 and 5 are not sequential, and non-numerical events send 1 and 0.
NON_SEQUENTIAL_FIELDS = {2, 5}

HEX24 = re.compile(r"[0-9a-fA-F]{24}")
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
LOWER_HEX64 = re.compile(r"[0-9a-f]{64}")
UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Reply:
    """One answer: an HTTP status, a body, and an optional extra wait before it is sent."""

    http_status: int = 200
    body: bytes = b'{"status": 200, "message": "Success"}'
    content_type: str = "application/json"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def success(cls) -> Reply:
        return cls()

    @classmethod
    def status(cls, status: int, message: str = "") -> Reply:
        """Chartboost's way of saying anything: HTTP 200 and a JSON status."""
        return cls(body=json.dumps({"status": status, "message": message}).encode())

    @classmethod
    def slow_down(cls, retry_after: int | None = None) -> Reply:
        """Status 429, with a Retry-After header in seconds when given."""
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return cls(body=b'{"status": 429, "message": "Too Many Requests"}', headers=headers)

    @classmethod
    def http_error(cls, http_status: int = 500) -> Reply:
        return cls(http_status=http_status, body=b"Internal Server Error", content_type="text/plain")

    @classmethod
    def not_json(cls) -> Reply:
        return cls(body=b"<html><body>Service temporarily unavailable</body></html>", content_type="text/html")

    def after(self, seconds: float) -> Reply:
        return replace(self, delay=seconds)

    def describe(self) -> str:
        try:
            answer = json.loads(self.body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and "status" in answer:
            return f"HTTP {self.http_status} status {answer['status']} {answer.get('message', '')!r}"
        return f"HTTP {self.http_status} {self.content_type}"


@dataclass
class Received:
    """One request as it arrived, with what was wrong with it and what it was answered."""

    arrived_at: float  # time.monotonic(), for measuring gaps
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any
    problems: list[str]
    client: tuple[str, int] = ("", 0)
    reply: Reply = field(default_factory=Reply)
    # time.monotonic() once the answer was written back; None while it is still on its way.
    answered_at: float | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def event_fields(self) -> list[int]:
        items = self.body.get("track_info") if isinstance(self.body, dict) else None
        if not isinstance(items, list):
            return []
        return [item.get("event_field") for item in items if isinstance(item, dict)]


def check_request(
    method: str, path: str, headers: Mapping[str, str], raw_body: bytes, *, app_tokens: Mapping[str, str] | None = None
) -> tuple[int, list[str], Any]:
    """What is wrong with a request, the status Chartboost would answer for it (200 if nothing), and its
    body parsed (None when it is not JSON), which the record of the request keeps.

    `app_tokens` are the apps whose token the sandbox knows, as Chartboost knows every app's: a request
    for one of them signed with another token is refused. Any other well-formed pair is accepted."""
    try:
        body, is_json = json.loads(raw_body), True
    except ValueError:
        body, is_json = None, False
    lowered = {key.lower(): value for key, value in headers.items()}
    if method != "POST" or path.split("?")[0] != LEVEL_PATH:
        return 404, [f"{method} {path}: only POST {LEVEL_PATH} exists"], body
    content_type = lowered.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return 400, [f"Content-Type is {content_type!r}, not application/json"], body
    if not is_json:
        return 400, ["the body is not JSON"], body
    if not isinstance(body, dict):
        return 400, ["the body is not a JSON object"], body
    body_problems = _body_problems(body)
    if body_problems:
        return 400, body_problems, body
    problems = _credential_problems(lowered)
    if not problems:
        problems = _signature_problems(lowered, body, (app_tokens or {}).get(lowered["x-chartboost-app"]))
    return (401 if problems else 200), problems, body


def _credential_problems(headers: Mapping[str, str]) -> list[str]:
    problems = []
    app_id = headers.get("x-chartboost-app", "")
    if not HEX24.fullmatch(app_id):
        problems.append(f"X-Chartboost-App {app_id!r} is not a 24-character hex app id")
    if not LOWER_HEX64.fullmatch(headers.get("x-chartboost-signature", "")):
        problems.append("X-Chartboost-Signature is missing or not 64 lowercase hex characters")
    return problems


def _signature_problems(headers: Mapping[str, str], body: Mapping[str, Any], known_token: str | None) -> list[str]:
    expected = chartboost.signature(headers["x-chartboost-app"], body["token"], body["timestamp"])
    if headers["x-chartboost-signature"] != expected:
        return ["X-Chartboost-Signature does not match sha256(action:pia;app:…;token:…;timestamp:…;)"]
    if known_token is not None and body["token"].lower() != known_token.lower():
        return ["Invalid app signature: signed with a token that is not the app's current one"]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _body_problems(body: Mapping[str, Any]) -> list[str]:
    problems = [f"unexpected key {key!r}" for key in sorted(set(body) - BODY_KEYS)]
    problems += [f"missing key {key!r}" for key in sorted(REQUIRED_BODY_KEYS - set(body))]
    if problems:
        return problems
    if not _is_text(body["platform"]):
        problems.append("platform must be the device OS, e.g. 'Android 5.0.1'")
    if not _is_int(body["timestamp"]) or body["timestamp"] <= 0:
        problems.append("timestamp must be Unix seconds (a positive integer)")
    if not isinstance(body["token"], str) or not HEX64.fullmatch(body["token"]):
        problems.append("token must be the 64-character hex app token")
    if not _is_text(body["party"]):
        problems.append("party must name the tracking service")
    if "sdk_version" in body and not _is_text(body["sdk_version"]):
        problems.append("sdk_version, when sent, must be a non-empty string")
    problems += _identifier_problems(body["identifiers"])
    items = body["track_info"]
    if not isinstance(items, list) or not items:
        return problems + ["track_info must be a non-empty array"]
    for index, item in enumerate(items):
        problems += [f"track_info[{index}]: {problem}" for problem in _item_problems(item)]
    return problems


def _identifier_problems(identifiers: Any) -> list[str]:
    if not isinstance(identifiers, dict) or not identifiers:
        return ["identifiers must be an object with ifa (iOS) or gaid and/or uuid (Android, Amazon)"]
    unexpected = set(identifiers) - {"ifa", "gaid", "uuid"}
    if unexpected:
        return [f"identifiers has unexpected keys {sorted(unexpected)}"]
    if "ifa" in identifiers:
        ifa = identifiers["ifa"]
        if set(identifiers) != {"ifa"}:
            return ["identifiers: an iOS request carries ifa only"]
        if not isinstance(ifa, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", ifa.replace("-", "")):
            return ["identifiers.ifa must be 32 hex characters (dashes and uppercase allowed)"]
        return []
    problems = []
    gaid = identifiers.get("gaid")
    if "gaid" in identifiers and not (isinstance(gaid, str) and UUID_FORM.fullmatch(gaid)):
        problems.append("identifiers.gaid must be in UUID form (32 hex characters with 4 dashes)")
    if "uuid" in identifiers and not _is_text(identifiers["uuid"]):
        problems.append("identifiers.uuid must be a non-empty string")
    return problems


def _item_problems(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["must be an object"]
    problems = [f"unexpected key {key!r}" for key in sorted(set(item) - ITEM_KEYS)]
    problems += [f"missing key {key!r}" for key in sorted(ITEM_KEYS - set(item))]
    if problems:
        return problems
    if not _is_text(item["event_label"]):
        problems.append("event_label must be a non-empty string")
    if not isinstance(item["description"], str):
        problems.append("description must be a string")
    if item["data_type"] != chartboost.DATA_TYPE:
        problems.append('data_type must always be "level_info"')
    field_number = item["event_field"]
    if not _is_int(field_number) or not 1 <= field_number <= 5:
        problems.append("event_field must be 1, 2, 3, 4 or 5")
    if not _is_int(item["main_level"]) or item["main_level"] == 0:
        problems.append("main_level must be a non-zero integer")
    if not _is_int(item["sub_level"]) or item["sub_level"] < 0:
        problems.append("sub_level must be an integer of 0 or more")
    if field_number in NON_SEQUENTIAL_FIELDS and (item["main_level"], item["sub_level"]) != (1, 0):
        problems.append(f"event_field {field_number} is not sequential: send main_level 1 and sub_level 0")
    return problems


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: ChartboostSandbox

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        if self.path.split("?")[0] in (CONTROL_OUTAGE_PATH, CONTROL_RECORD_PATH):
            self._control(raw_body)
            return
        received = self.server.receive(
            self.command, self.path, dict(self.headers.items()), raw_body, client=self.client_address[:2]
        )
        reply = received.reply
        time.sleep(self.server.latency_ms / 1000 + reply.delay)
        try:
            self.send_response(reply.http_status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
            received.answered_at = time.monotonic()
        except (BrokenPipeError, ConnectionResetError):
            # The sender gave up (or died) while we were answering; that is its problem to retry.
            self.close_connection = True
        self.server.log(received)

    def _control(self, raw_body: bytes) -> None:
        """The sandbox's own control endpoints, never recorded as requests to Chartboost."""
        status = 200
        if self.path.split("?")[0] == CONTROL_OUTAGE_PATH and self.command == "POST":
            try:
                order = json.loads(raw_body)
                seconds = order.get("seconds")
                if order["down"]:
                    self.server.down(float(seconds) if seconds is not None else None)
                else:
                    self.server.up()
            except (ValueError, KeyError, TypeError):
                status = 400
        answer = json.dumps({**self.server.record_summary(), **({"error": 'send {"down": true|false}'}
                                                                 if status == 400 else {})}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        # The server writes one line per request itself, with what it checked and answered.
        return


class ChartboostSandbox(ThreadingHTTPServer):
    """The sandbox server. Use it as a context manager to run it in a background thread."""

    daemon_threads = True
    allow_reuse_address = True
    # Several workers open dozens of connections at once; the default backlog of 5 resets some.
    request_queue_size = 256

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: float = 0,
        fail_rate: float = 0.0,
        http_500_rate: float = 0.0,
        reject_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 12.0,
        script: Iterable[Reply] = (),
        seed: int | None = None,
        app_tokens: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.http_500_rate = http_500_rate
        self.reject_rate = reject_rate
        # A share of requests answered success, but only after `timeout_seconds`: later than the
        # sender's read timeout, so it retries what Chartboost took (a repeat).
        self.timeout_rate = timeout_rate
        self.timeout_seconds = timeout_seconds
        # Every app is down (answered `_down_reply`) until then (monotonic time).
        self._down_until = 0.0
        self._down_reply = Reply.http_error(500)
        self.app_tokens = dict(app_tokens or {})
        self.received: list[Received] = []
        self._script: deque[Reply] = deque(script)
        # Per Chartboost app id: answer every request with this reply until then (monotonic time).
        self._outages: dict[str, tuple[float, Reply]] = {}
        # Per Chartboost app id: answer the first arrival of each distinct request with this reply.
        self._first_tries: dict[str, Reply] = {}
        self._seen_bodies: set[bytes] = set()
        self._random = random.Random(seed)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{LEVEL_PATH}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, whatever they contain."""
        with self._changed:
            self._script.extend(replies)

    def outage(self, app_id: str, seconds: float, reply: Reply | None = None) -> None:
        """Answer every request for one app with `reply` (default: status 500) for the next `seconds`."""
        with self._changed:
            self._outages[app_id] = (time.monotonic() + seconds, reply or Reply.status(500, "Outage (sandbox)"))

    def down(self, seconds: float | None = None, reply: Reply | None = None) -> None:
        """Answer every request, whatever its app, with `reply` (default: HTTP 500) for `seconds`, or until `up()`."""
        with self._changed:
            self._down_until = float("inf") if seconds is None else time.monotonic() + seconds
            self._down_reply = reply or Reply.http_error(500)

    def up(self) -> None:
        """End an outage of every app now."""
        with self._changed:
            self._down_until = 0.0

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def record_summary(self) -> dict[str, Any]:
        """How many requests came, how many repeated a body seen before, and whether every app is down."""
        with self._changed:
            bodies = [received.raw_body for received in self.received]
        return {"requests": len(bodies), "repeats": len(bodies) - len(set(bodies)), "down": self.is_down}

    def fail_first_tries(self, app_id: str, reply: Reply | None = None) -> None:
        """Answer the first arrival of every distinct request for one app with `reply` (default: status 500),
        and its retries as usual. A retry sends the same body, so this holds whatever order requests come in."""
        with self._changed:
            self._first_tries[app_id] = reply or Reply.status(500, "First try fails (sandbox)")

    def receive(
        self, method: str, path: str, headers: dict[str, str], raw_body: bytes, *, client: tuple[str, int]
    ) -> Received:
        arrived_at = time.monotonic()
        status, problems, body = check_request(method, path, headers, raw_body, app_tokens=self.app_tokens)
        received = Received(arrived_at, method, path, headers, raw_body, body, problems, client)
        with self._changed:
            down = self._down_reply if arrived_at < self._down_until else None
            received.reply = (down or self._outage_reply(headers, arrived_at)
                              or self._first_try_reply(headers, raw_body) or self._choose_reply(status, problems))
            self.received.append(received)
            self._changed.notify_all()
        return received

    def _outage_reply(self, headers: dict[str, str], now: float) -> Reply | None:
        app_id = next((value for name, value in headers.items() if name.lower() == "x-chartboost-app"), None)
        until, reply = self._outages.get(app_id or "", (0.0, None))
        return reply if now < until else None

    def _first_try_reply(self, headers: dict[str, str], raw_body: bytes) -> Reply | None:
        app_id = next((value for name, value in headers.items() if name.lower() == "x-chartboost-app"), None)
        reply = self._first_tries.get(app_id or "")
        if reply is None or raw_body in self._seen_bodies:
            return None
        self._seen_bodies.add(raw_body)
        return reply

    def _choose_reply(self, status: int, problems: list[str]) -> Reply:
        if self._script:
            return self._script.popleft()
        if problems:
            return Reply.status(status, "; ".join(problems))
        draw = self._random.random()
        if draw < self.reject_rate:
            return Reply.status(400, "Rejected by the sandbox (--reject-rate)")
        if draw < self.reject_rate + self.http_500_rate:
            return Reply.http_error(500)
        if draw < self.reject_rate + self.http_500_rate + self.fail_rate:
            return Reply.status(500, "Internal error injected by the sandbox (--fail-rate)")
        if draw < self.reject_rate + self.http_500_rate + self.fail_rate + self.timeout_rate:
            return Reply.success().after(self.timeout_seconds)
        return Reply.success()

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """Block until at least `count` requests have arrived (or `timeout` passes); return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return list(self.received)

    def log(self, received: Received) -> None:
        app_id = received.header("X-Chartboost-App") or "-"
        fields = ",".join(str(number) for number in received.event_fields) or "-"
        verdict = "ok" if not received.problems else "; ".join(received.problems)
        elapsed = round((time.monotonic() - received.arrived_at) * 1000)
        logger.info(
            "%s %s %s app=%s fields=%s -> %s in %d ms (%s)",
            received.client[0], received.method, received.path, app_id, fields,
            received.reply.describe(), elapsed, verdict,
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender that dies or closes a kept-alive connection is normal here, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __enter__(self) -> ChartboostSandbox:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="chartboost-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
