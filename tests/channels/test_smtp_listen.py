"""The SMTP edge binds its address before aiosmtpd starts, so a bad one is told at once."""

from __future__ import annotations

import smtplib
import socket

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.listen import listening_socket
from channels.smtp import EdgeController, IngestHandler, start_smtp_server
from config.errors import CannotListen


def test_a_taken_port_is_told_before_the_server_starts(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[EdgeController] = []

    def record_start(controller: EdgeController) -> None:
        started.append(controller)

    monkeypatch.setattr(EdgeController, "start", record_start)
    handler = IngestHandler(sessions, ("support@example.com",))
    try:
        with socket.create_server(("127.0.0.1", 0)) as taken:
            port = taken.getsockname()[1]
            # When the edge is asked to serve on a port another server holds
            with pytest.raises(CannotListen) as refused:
                start_smtp_server(handler, host="127.0.0.1", port=port, hostname="mx.example.com")
    finally:
        handler.close()
    # Then it says so in one line naming the settings, and aiosmtpd never started
    assert str(refused.value) == (
        f"the SMTP edge cannot listen on 127.0.0.1:{port}: Address already in use "
        "(OMNIROUTE_SMTP_HOST, OMNIROUTE_SMTP_PORT)"
    )
    assert started == []


def test_a_host_that_does_not_resolve_is_told_with_its_reason(
    sessions: sessionmaker[Session],
) -> None:
    handler = IngestHandler(sessions, ("support@example.com",))
    try:
        # When the configured host is no name this machine can resolve
        with pytest.raises(CannotListen) as refused:
            start_smtp_server(handler, host="no-such-host.invalid", port=0, hostname="mx")
    finally:
        handler.close()
    # Then the line names the host and the resolver's reason
    assert str(refused.value).startswith("the SMTP edge cannot listen on no-such-host.invalid:0: ")


def test_port_zero_serves_on_the_port_the_system_gave(sessions: sessionmaker[Session]) -> None:
    handler = IngestHandler(sessions, ("support@example.com",))
    # When the edge is given port 0
    controller = start_smtp_server(handler, host="127.0.0.1", port=0, hostname="mx.example.com")
    try:
        assert isinstance(controller, EdgeController)
        port = controller.listener.getsockname()[1]
        # Then it serves on the port the system chose, and answers there
        with smtplib.SMTP("127.0.0.1", port) as client:
            code, banner = client.ehlo()
        assert port != 0
        assert code == 250
        assert b"mx.example.com" in banner
    finally:
        controller.stop()
        handler.close()


def test_an_empty_host_listens_on_every_interface() -> None:
    # When a server is given no host
    with listening_socket("SMTP edge", "", 0, settings="OMNIROUTE_SMTP_HOST", backlog=8) as sock:
        port = sock.getsockname()[1]
        # Then clients reach it over IPv4 loopback (and IPv6 where the system has it)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        if socket.has_dualstack_ipv6():
            with socket.create_connection(("::1", port), timeout=5):
                pass
