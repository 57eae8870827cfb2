"""Where an alert may be sent: the rules for a channel's target (docs/design.md, "Alerts").

With DEBUG off, a webhook or Slack URL must be https and every address its host resolves to
must be public: not private, loopback, link-local, multicast, reserved or unspecified, so a
channel cannot make our workers call into our own network. The check runs when a channel is
created and again before every send, since DNS can change in between. With DEBUG on, http
and loopback are allowed for local development.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

MAX_EMAIL_ADDRESSES = 10


class TargetRefused(ValueError):
    """The target may not be sent to; the message says why."""


class TargetUnresolved(TargetRefused):
    """The host does not resolve now: at send time, worth another try later."""


def email_addresses(target: str) -> list[str]:
    """The addresses of an e-mail target: one or more, separated by commas."""
    return [address.strip() for address in target.split(",") if address.strip()]


def email_target_check(target: str) -> str:
    addresses = email_addresses(target)
    if not addresses:
        raise TargetRefused("Give an e-mail address.")
    if len(addresses) > MAX_EMAIL_ADDRESSES:
        raise TargetRefused(f"At most {MAX_EMAIL_ADDRESSES} addresses.")
    validate = EmailValidator()
    for address in addresses:
        try:
            validate(address)
        except ValidationError:
            raise TargetRefused(f"{address!r} is not an e-mail address.") from None
    return ", ".join(addresses)


def _address_refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def _resolved(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetUnresolved(f"The host {host!r} does not resolve.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def url_target_check(target: str, *, debug: bool | None = None) -> str:
    """The URL as it will be used, or TargetRefused saying why it may not be."""
    debug = settings.DEBUG if debug is None else debug
    url = target.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise TargetRefused("Give a full http or https URL.") from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise TargetRefused("The URL may not carry a user name or password.")
    if debug:
        return url
    if parts.scheme != "https":
        raise TargetRefused("The URL must be https.")
    host = parts.hostname or ""
    for address in _resolved(host, parts.port or 443):
        if _address_refused(address):
            raise TargetRefused(f"{host} resolves to {address}, a private, loopback or link-local address: "
                                "alerts go only to public addresses.")
    return url


def target_check(kind: str, target: str, *, debug: bool | None = None) -> str:
    """The target, normalised, if a channel of this kind may send to it; TargetRefused otherwise."""
    if kind == "email":
        return email_target_check(target)
    return url_target_check(target, debug=debug)
