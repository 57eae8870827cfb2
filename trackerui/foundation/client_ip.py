"""The client's address, as the proxies in front of us saw it.

Each proxy appends the address it was reached from to X-Forwarded-For, so with PROXY_COUNT
proxies the client is the PROXY_COUNT-th address from the right; anything further left was
written by the client and may be forged. Sign-in limits and API throttles count per this
address, so that one proxy's address never locks everyone out.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_ip(request: HttpRequest | Request) -> str:
    """The client's address: from X-Forwarded-For behind PROXY_COUNT proxies, else REMOTE_ADDR."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxy_count: int = settings.PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxy_count == 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    # Fewer addresses than proxies means the request did not come through all of them:
    # nothing in the header can then be trusted, but REMOTE_ADDR can.
    if len(addresses) < proxy_count:
        return remote_addr
    candidate = addresses[-proxy_count]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote_addr
    return candidate
