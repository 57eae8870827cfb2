"""Throttled sign-ins (trackerui/accounts/sign_in_throttle.py).

10 failures lock out a (username, address) pair or an address; failures for one username from
many addresses only slow it and tell its user, so nobody can lock another user out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from tests.factories import PASSWORD, UserFactory

LOCKED_OUT = "Too many failed sign-ins: try again in 15 minutes."
TWO_TRIES_LEFT = "2 tries left before sign-in is paused for 15 minutes."
ONE_TRY_LEFT = "1 try left before sign-in is paused for 15 minutes."


@pytest.fixture(autouse=True)
def short_slowdown(settings: Settings) -> None:
    settings.SIGN_IN_SLOWDOWN_SECONDS = 0.01


@pytest.fixture(autouse=True)
def empty_sign_in_counters(db: None) -> Iterator[None]:
    # With REDIS_URL the counters live in Redis, which no test's rollback empties: every test here
    # signs in from the test client's one address, so one test's failures would lock out the next.
    cache.clear()
    yield
    cache.clear()


def _sign_in(client: Client, username: str, password: str, path: str = "/accounts/login/",
             forwarded_for: str | None = None) -> tuple[int, str]:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = client.post(path, {"username": username, "password": password}, headers=headers)
    return response.status_code, response.content.decode()


def test_after_ten_wrong_passwords_even_the_right_one_is_refused_with_a_message(client: Client,
                                                                                member: User) -> None:
    for _ in range(12):
        _sign_in(client, member.username, "wrong")
    status, html = _sign_in(client, member.username, PASSWORD)
    assert status == 429
    assert LOCKED_OUT in html
    assert client.get("/apps/").status_code == 302


def test_nine_wrong_passwords_still_let_the_right_one_in(client: Client, member: User) -> None:
    for _ in range(9):
        status, html = _sign_in(client, member.username, "wrong")
        assert status == 200 and LOCKED_OUT not in html
    status, _ = _sign_in(client, member.username, PASSWORD)
    assert status == 302


def test_the_lockout_ends_after_fifteen_minutes(client: Client, member: User) -> None:
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for _ in range(10):
            _sign_in(client, member.username, "wrong")
    with time_machine.travel(now + timezone.timedelta(minutes=14), tick=False):
        assert _sign_in(client, member.username, PASSWORD)[0] == 429
    with time_machine.travel(now + timezone.timedelta(minutes=16), tick=False):
        assert _sign_in(client, member.username, PASSWORD)[0] == 302


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(settings: Settings, client: Client,
                                                                       member: User) -> None:
    settings.PROXY_COUNT = 1
    attacker = UserFactory()
    for _ in range(12):
        _sign_in(client, attacker.username, "wrong", forwarded_for="198.51.100.1")
    assert _sign_in(client, attacker.username, PASSWORD, forwarded_for="198.51.100.1")[0] == 429
    status, _ = _sign_in(Client(), member.username, PASSWORD, forwarded_for="198.51.100.2")
    assert status == 302


def test_one_address_is_locked_out_whatever_usernames_it_tries(settings: Settings, client: Client,
                                                                 member: User) -> None:
    settings.PROXY_COUNT = 1
    for number in range(10):
        _sign_in(client, f"guess-{number}", "wrong", forwarded_for="198.51.100.1")
    status, html = _sign_in(client, member.username, PASSWORD, forwarded_for="198.51.100.1")
    assert status == 429 and LOCKED_OUT in html


def test_failures_for_one_username_from_ten_addresses_do_not_lock_its_user_out_but_tell_them(
    settings: Settings, client: Client, member: User
) -> None:
    settings.PROXY_COUNT = 1
    for number in range(10):
        _sign_in(client, member.username, "wrong", forwarded_for=f"198.51.100.{number + 1}")
    _sign_in(client, member.username, "wrong", forwarded_for="198.51.100.77")

    assert _sign_in(Client(), member.username, PASSWORD, forwarded_for="203.0.113.5")[0] == 302
    (message,) = mail.outbox
    assert message.to == [member.email]
    assert "wrong password 10 times" in message.body and "Your account is not locked" in message.body


def test_sign_ins_for_a_username_failed_from_many_addresses_are_slowed(settings: Settings, member: User) -> None:
    settings.PROXY_COUNT = 1
    settings.SIGN_IN_SLOWDOWN_SECONDS = 0.5
    started = time.monotonic()
    _sign_in(Client(), member.username, PASSWORD, forwarded_for="203.0.113.5")
    assert time.monotonic() - started < 0.5
    for number in range(10):
        _sign_in(Client(), member.username, "wrong", forwarded_for=f"198.51.100.{number + 1}")

    started = time.monotonic()
    assert _sign_in(Client(), member.username, PASSWORD, forwarded_for="203.0.113.6")[0] == 302
    assert time.monotonic() - started >= 0.5


def test_ten_failures_from_one_address_refuse_that_pair_with_a_message(settings: Settings, client: Client,
                                                                       member: User) -> None:
    settings.PROXY_COUNT = 1
    for _ in range(10):
        _sign_in(client, member.username, "wrong", forwarded_for="198.51.100.1")
    response = client.post("/accounts/login/", {"username": member.username, "password": PASSWORD},
                           headers={"X-Forwarded-For": "198.51.100.1"})
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60


def test_the_last_two_tries_before_the_pause_are_warned(client: Client, member: User) -> None:
    pages = [_sign_in(client, member.username, "wrong")[1] for _ in range(9)]
    assert not any("left before sign-in is paused" in html for html in pages[:7])
    assert TWO_TRIES_LEFT in pages[7]
    assert ONE_TRY_LEFT in pages[8]


def test_the_admin_sign_in_warns_too(client: Client, db: None) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    pages = [_sign_in(client, staff.username, "wrong", path="/admin/login/")[1] for _ in range(8)]
    assert TWO_TRIES_LEFT in pages[-1]


def test_failures_for_staff_from_many_addresses_never_lock_staff_out_of_the_admin(
    settings: Settings, db: None
) -> None:
    settings.PROXY_COUNT = 1
    staff = UserFactory(is_staff=True, is_superuser=True)
    for number in range(12):
        _sign_in(Client(), staff.username, "wrong", path="/admin/login/", forwarded_for=f"198.51.100.{number + 1}")
    assert _sign_in(Client(), staff.username, PASSWORD, path="/admin/login/", forwarded_for="203.0.113.5")[0] == 302


def test_the_admin_sign_in_is_throttled_too(client: Client, db: None) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(12):
        _sign_in(client, staff.username, "wrong", path="/admin/login/")
    status, html = _sign_in(client, staff.username, PASSWORD, path="/admin/login/")
    assert status == 429
    assert LOCKED_OUT in html and "CB Tracker admin" in html
    assert client.get("/admin/").status_code == 302
