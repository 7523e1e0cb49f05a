"""Who is posting: the client address, believing ``X-Forwarded-For`` only from our proxies."""

from __future__ import annotations

import ipaddress
from functools import cache

from starlette.requests import Request


@cache
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _trusted(address: str, trusted: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(trusted))


def client_ip(request: Request, trusted: tuple[str, ...]) -> str:
    """The peer, or, when the peer is a trusted proxy, the last untrusted hop it forwarded."""
    peer = request.client.host if request.client is not None else ""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, trusted):
            return hop
    return peer
