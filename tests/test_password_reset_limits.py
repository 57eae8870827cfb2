"""Password-reset mails are rate limited per client address and per e-mail (accounts/password_reset_limits.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from pytest_django import Settings

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def empty_counters(db: None) -> Iterator[None]:
    # The counters live in the cache, which is a database table unless REDIS_URL is set.
    cache.clear()
    yield
    cache.clear()


def _ask_for_reset(email: str, forwarded_for: str | None = None) -> str:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = Client().post("/accounts/password_reset/", {"email": email}, headers=headers)
    return response["Location"]


def test_one_email_gets_three_mails_an_hour_and_then_the_same_page_but_no_mail(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.PROXY_COUNT = 1
    user = UserFactory()
    for number in range(5):
        assert _ask_for_reset(user.email, forwarded_for=f"198.51.100.{number + 1}") == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 3
    assert "over the hourly limit, no mail sent" in caplog.text


def test_one_address_gets_five_mails_an_hour_whatever_emails_it_asks_for(settings: Settings) -> None:
    settings.PROXY_COUNT = 1
    users = UserFactory.create_batch(7)
    for user in users:
        assert _ask_for_reset(user.email, forwarded_for="198.51.100.1") == "/accounts/password_reset/done/"
    assert [message.to for message in mail.outbox] == [[user.email] for user in users[:5]]
    # Another client is not held back by the first one's requests.
    _ask_for_reset(users[6].email, forwarded_for="198.51.100.2")
    assert mail.outbox[-1].to == [users[6].email]


def test_an_unknown_email_is_answered_like_a_known_one_over_the_limit_too(db: None) -> None:
    for _ in range(6):
        assert _ask_for_reset("nobody@example.com") == "/accounts/password_reset/done/"
    assert mail.outbox == []

