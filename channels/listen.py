"""A server's listening socket, bound before the server starts.

Binding first tells a taken port, an address that is not this host's or a privileged
port at once and in one line (``CannotListen``, naming the settings to change), the
same way for every server: aiosmtpd would only report it after its ready timeout,
uvicorn would log it and exit on its own.
"""

from __future__ import annotations

import socket

from config.errors import CannotListen


def listening_socket(
    server: str, host: str, port: int, *, settings: str, backlog: int
) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening; ``settings`` names where
    the address comes from, for the error."""
    # An empty host is every interface, IPv6 too where the system has both in one socket.
    every = host == "" and socket.has_dualstack_ipv6()
    family = socket.AF_INET6 if ":" in host or every else socket.AF_INET
    try:
        return socket.create_server(
            (host, port), family=family, backlog=backlog, dualstack_ipv6=every
        )
    except OSError as exc:
        raise CannotListen(server, host, port, exc, settings) from exc
