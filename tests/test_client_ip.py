"""The client's address behind PROXY_COUNT proxies (trackerui/foundation/client_ip.py), and the throttles
that count by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from pytest_django import Settings

from trackerui.foundation.client_ip import client_ip


def _request(remote_addr: str = "10.0.0.1", forwarded_for: str | None = None) -> HttpRequest:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


def test_with_no_proxy_the_forwarded_header_is_ignored_as_a_client_could_forge_it(settings: Settings) -> None:
    settings.PROXY_COUNT = 0
    assert client_ip(_request("203.0.113.7", forwarded_for="1.2.3.4")) == "203.0.113.7"


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(settings: Settings) -> None:
    settings.PROXY_COUNT = 1
    assert client_ip(_request(forwarded_for="198.51.100.9")) == "198.51.100.9"
    # A client that sends its own header only adds addresses to the left of the proxy's.
    assert client_ip(_request(forwarded_for="1.2.3.4, 198.51.100.9")) == "198.51.100.9"


def test_behind_two_proxies_the_client_is_the_second_address_from_the_right(settings: Settings) -> None:
    settings.PROXY_COUNT = 2
    assert client_ip(_request(forwarded_for="1.2.3.4, 198.51.100.9, 10.0.0.2")) == "198.51.100.9"
    assert client_ip(_request(forwarded_for="2001:db8::1, 10.0.0.2")) == "2001:db8::1"


@pytest.mark.parametrize("forwarded_for", [None, "", "10.0.0.2", "1.2.3.4, not-an-address, 10.0.0.2"])
def test_a_missing_short_or_garbled_header_falls_back_to_the_peer_address(
    settings: Settings, forwarded_for: str | None
) -> None:
    settings.PROXY_COUNT = 2
    assert client_ip(_request("10.0.0.1", forwarded_for=forwarded_for)) == "10.0.0.1"


@pytest.fixture
def empty_throttle_counters(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _one_call_a_minute() -> override_settings:
    rest_framework = django_settings.REST_FRAMEWORK
    rates = {**rest_framework["DEFAULT_THROTTLE_RATES"], "api": "1/min"}
    return override_settings(REST_FRAMEWORK={**rest_framework, "DEFAULT_THROTTLE_RATES": rates})


def test_behind_a_proxy_anonymous_calls_are_throttled_per_client_not_per_proxy(
    settings: Settings, empty_throttle_counters: None
) -> None:
    settings.PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    with _one_call_a_minute():
        first = proxy.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.1"})
        again = proxy.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.1"})
        other = proxy.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.2"})
    assert (first.status_code, again.status_code, other.status_code) == (200, 429, 200)


def test_with_no_proxy_a_forged_forwarded_header_does_not_escape_the_throttle(
    settings: Settings, empty_throttle_counters: None
) -> None:
    settings.PROXY_COUNT = 0
    client = Client(REMOTE_ADDR="203.0.113.7")
    with _one_call_a_minute():
        first = client.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.1"})
        forged = client.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.2"})
    assert (first.status_code, forged.status_code) == (200, 429)
