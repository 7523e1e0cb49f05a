"""Which recipient addresses this deployment accepts mail for."""

from __future__ import annotations


def accepts(address: str, configured: tuple[str, ...]) -> bool:
    """True for a configured address or its plus-extension (``support+1234@example.com``).

    Matching is case-insensitive: local parts are case-sensitive in theory
    (RFC 5321 2.4) but no real mailbox relies on it.
    """
    address = address.strip().strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return False
    base_local = local.split("+", 1)[0]
    return f"{base_local}@{domain}" in configured or address in configured
