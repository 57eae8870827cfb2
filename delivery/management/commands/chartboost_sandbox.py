"""`manage.py chartboost_sandbox`: run the local stand-in for Chartboost (see delivery/sandbox.py)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery import sandbox
from delivery.sandbox import ChartboostSandbox


def rate(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(value)
    return number


def app_token(value: str) -> tuple[str, str]:
    app_id, _, token = value.partition(":")
    if not (sandbox.HEX24.fullmatch(app_id) and sandbox.HEX64.fullmatch(token)):
        raise ValueError(value)
    return app_id, token


class Command(BaseCommand):
    help = (
        "Serve a local stand-in for Chartboost's level-tracking endpoint that checks every request "
        "against the reference and answers like Chartboost, with optional injected failures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency-ms", type=float, default=0, help="Wait this long before every answer.")
        parser.add_argument("--fail-rate", type=rate, default=0.0,
                            help='Share of requests (0-1) answered {"status": 500}, which senders retry.')
        parser.add_argument("--http-500-rate", type=rate, default=0.0,
                            help="Share of requests (0-1) answered HTTP 500.")
        parser.add_argument("--reject-rate", type=rate, default=0.0,
                            help='Share of requests (0-1) answered {"status": 400}, which senders do not retry.')
        parser.add_argument("--timeout-rate", type=rate, default=0.0,
                            help="Share of requests (0-1) answered success only after --timeout-seconds, later "
                                 "than the sender's read timeout: it retries what was taken.")
        parser.add_argument("--timeout-seconds", type=float, default=12.0,
                            help="How late --timeout-rate answers come (default 12, above the 10 s read timeout).")
        parser.add_argument("--app-token", action="append", default=[], type=app_token, metavar="APP_ID:TOKEN",
                            help="An app whose token the sandbox knows, as Chartboost does: a request for it signed "
                                 "with another token is answered status 401. Repeat for several apps.")
        parser.add_argument("--seed", type=int, default=None, help="Seed the injected failures, to repeat a run.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fail_rate"] + options["http_500_rate"] + options["reject_rate"] + options["timeout_rate"] > 1:
            raise CommandError("--fail-rate, --http-500-rate, --reject-rate and --timeout-rate add up to more than 1.")
        # The sandbox logs one line per request at INFO, and showing them is this command's point: INFO here
        # overrides LOG_LEVEL for this logger, so they show even when LOG_LEVEL is WARNING or higher.
        logging.getLogger("delivery.sandbox").setLevel(logging.INFO)
        try:
            server = ChartboostSandbox(
                options["host"],
                options["port"],
                latency_ms=options["latency_ms"],
                fail_rate=options["fail_rate"],
                http_500_rate=options["http_500_rate"],
                reject_rate=options["reject_rate"],
                timeout_rate=options["timeout_rate"],
                timeout_seconds=options["timeout_seconds"],
                seed=options["seed"],
                app_tokens=dict(options["app_token"]),
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from None
        self.stdout.write(f"Chartboost sandbox listening on {server.url} (outage on and off: POST "
                          f"{sandbox.CONTROL_OUTAGE_PATH} {{\"down\": true|false}})", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
