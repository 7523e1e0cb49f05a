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
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        raise CannotListen(server, host, port, exc, settings) from exc
