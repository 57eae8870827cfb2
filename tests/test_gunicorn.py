"""gunicorn with DEBUG=false behind a simulated TLS proxy: styled pages, HSTS, the SSL redirect, sign-in.

The test plays the proxy: it speaks plain HTTP to gunicorn and says `X-Forwarded-Proto: https`
for a request the proxy received over TLS. gunicorn is told the proxy is on another host
(`--forwarded-allow-ips`), so gunicorn itself ignores that header and only Django's
TRUST_X_FORWARDED_PROTO makes the request secure, as in docs/deploy.md.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import PASSWORD, UserFactory
from tests.live_receiver import free_port, shared_database_url
from trackerui.accounts.models import ApiKey, Organization
from trackerui.accounts.services import api_key_create

# Every test here is transactional, so that what a test writes is seen by gunicorn, and so that
# pytest-django's reordering keeps them together and gunicorn starts once.
pytestmark = pytest.mark.django_db(transaction=True)

HTTPS = {"X-Forwarded-Proto": "https"}
# Where the simulated proxy would be, were it a real host: not us.
PROXY_ELSEWHERE = "192.0.2.1"
PARALLEL_LIMIT = 50
PARALLEL_THREADS = 8


@dataclass(frozen=True)
class Gunicorn:
    url: str
    origin: str



def _production_env(port: int, static_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "gunicorn-test-secret-key-long-and-random-enough-Qm4x9TzR7vLp2sWn8yBc",
        "TOKEN_ENCRYPTION_KEY": "rQ0J1Bq8kYbT8yM7m3Zy2cAqQ1m9o3c8M3oV2r9h0bE=",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRUST_X_FORWARDED_PROTO": "true",
        "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
        "DATABASE_URL": shared_database_url(),
        "STATIC_ROOT": str(static_root),
        "PYTHONUNBUFFERED": "1",
    }


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"gunicorn did not listen within {timeout} s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def _start_gunicorn(workdir: Path, *, workers: int, **extra_env: str) -> Iterator[Gunicorn]:
    """`collectstatic`, then `gunicorn trackerui.wsgi` on the test database, with the deployment's gunicorn.conf.py."""
    port = free_port()
    env = {**_production_env(port, workdir / "static"), **extra_env}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR, env=env, check=True, capture_output=True,
    )
    log = workdir / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "trackerui.wsgi", "--config", "gunicorn.conf.py",
               "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--forwarded-allow-ips", PROXY_ELSEWHERE]
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_for_port(port, process, log, timeout=10)
        yield Gunicorn(url=f"http://127.0.0.1:{port}", origin=f"https://127.0.0.1:{port}")
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def gunicorn(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """One worker, the deployment's settings."""
    yield from _start_gunicorn(tmp_path_factory.mktemp("gunicorn"), workers=1)


@pytest.fixture(scope="module")
def gunicorn_limited(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """Two workers, so two processes count every limit, with a small API rate."""
    yield from _start_gunicorn(tmp_path_factory.mktemp("gunicorn-limited"), workers=2,
                               API_THROTTLE_RATE=f"{PARALLEL_LIMIT}/min", PROXY_COUNT="1")


def _get(gunicorn: Gunicorn, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(gunicorn.url + path, headers=headers, allow_redirects=False, timeout=10)


def test_plain_http_is_redirected_to_https(gunicorn: Gunicorn) -> None:
    response = _get(gunicorn, "/accounts/login/")
    assert response.status_code == 301
    assert response.headers["Location"] == f"{gunicorn.origin}/accounts/login/"


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_health_and_metrics_paths_are_not_redirected_for_load_balancers_and_scrapers(
    gunicorn: Gunicorn, path: str
) -> None:
    assert _get(gunicorn, path).status_code != 301


def test_over_https_the_login_page_sends_hsts_and_refuses_framing(gunicorn: Gunicorn) -> None:
    response = _get(gunicorn, "/accounts/login/", HTTPS)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_page_is_styled_by_a_hashed_compressed_stylesheet(gunicorn: Gunicorn) -> None:
    page = _get(gunicorn, "/accounts/login/", HTTPS).text
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, page
    response = _get(gunicorn, stylesheet.group(1), {**HTTPS, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]


def test_signing_in_works_through_the_tls_proxy(gunicorn: Gunicorn) -> None:
    user = UserFactory()
    # gunicorn checks passwords with the default hashers, not the tests' fast one (tests/conftest.py).
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])

    login_page = _get(gunicorn, "/accounts/login/", HTTPS)
    cookie = SimpleCookie(login_page.headers["Set-Cookie"])["csrftoken"]
    assert cookie["secure"]
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
    assert form_token, login_page.text

    response = requests.post(
        f"{gunicorn.url}/accounts/login/",
        data={"csrfmiddlewaretoken": form_token.group(1), "username": user.username, "password": PASSWORD},
        headers={**HTTPS, "Referer": f"{gunicorn.origin}/accounts/login/", "Cookie": f"csrftoken={cookie.value}"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/apps/"


def _within_one_minute_window() -> None:
    """Wait for a fresh minute when less than 25 s of this one remain, so a burst falls in one fixed window."""
    into_minute = time.time() % 60
    if into_minute > 35:
        time.sleep(60 - into_minute + 0.1)


def test_parallel_calls_from_many_threads_to_two_workers_pass_at_most_the_limit(
    gunicorn_limited: Gunicorn, organization: Organization
) -> None:
    _, raw_key = api_key_create(organization=organization, name="burst", scope=ApiKey.Scope.FULL)
    headers = {**HTTPS, "Authorization": f"Bearer {raw_key}"}
    _within_one_minute_window()

    def call(_: int) -> requests.Response:
        return requests.get(f"{gunicorn_limited.url}/api/v1/apps/", headers=headers, allow_redirects=False,
                            timeout=30)

    with ThreadPoolExecutor(max_workers=PARALLEL_THREADS) as pool:
        answers = list(pool.map(call, range(4 * PARALLEL_LIMIT)))

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: PARALLEL_LIMIT, 429: 3 * PARALLEL_LIMIT}, statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Content-Type"] == "application/json"


def _api_answer(response: requests.Response) -> tuple[int, str]:
    assert response.headers["Content-Type"] == "application/json", response.text[:200]
    return response.status_code, response.json()["detail"]


def test_a_long_query_string_under_the_api_answers_414_in_json(gunicorn: Gunicorn) -> None:
    response = _get(gunicorn, "/api/v1/apps/?q=" + "x" * 5000, HTTPS)
    status, detail = _api_answer(response)
    assert status == 414 and "query string" in detail


def test_a_large_header_under_the_api_answers_431_in_json(gunicorn: Gunicorn) -> None:
    response = _get(gunicorn, "/api/v1/apps/", {**HTTPS, "X-Padding": "x" * 100_000})
    status, detail = _api_answer(response)
    assert status == 431 and "headers" in detail


def test_a_chunked_body_without_a_content_length_answers_411_in_json(gunicorn: Gunicorn) -> None:
    chunks = (part for part in [b'{"events": ', b"[]}"])
    response = requests.post(f"{gunicorn.url}/api/v1/apps/1/events/", data=chunks, allow_redirects=False, timeout=10,
                             headers={**HTTPS, "Content-Type": "application/json"})
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    status, detail = _api_answer(response)
    assert status == 411 and "Content-Length" in detail
