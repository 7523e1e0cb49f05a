"""The per-client counters behind the SMTP edge's limits."""

from __future__ import annotations

from channels.smtp_limits import ClientLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_message_rate_frees_up_after_a_minute() -> None:
    # Given a client that used its two messages a minute
    clock = Clock()
    limiter = ClientLimiter(max_connections=0, max_messages_per_minute=2, clock=clock)
    assert limiter.take_message("192.0.2.1") and limiter.take_message("192.0.2.1")
    # Then a third is refused, while another client is not affected
    assert not limiter.take_message("192.0.2.1")
    assert limiter.take_message("192.0.2.2")
    # And a minute after the first, one more is allowed
    clock.now += 60
    assert limiter.take_message("192.0.2.1")


def test_zero_turns_the_bounds_off() -> None:
    limiter = ClientLimiter(max_connections=0, max_messages_per_minute=0)
    assert all(limiter.open("192.0.2.1") for _ in range(1000))
    assert all(limiter.take_message("192.0.2.1") for _ in range(1000))


def test_closed_connections_are_forgotten() -> None:
    # Given a client at its one-connection limit
    limiter = ClientLimiter(max_connections=1, max_messages_per_minute=0)
    assert limiter.open("192.0.2.1")
    assert not limiter.open("192.0.2.1")
    # When it closes the connection
    limiter.close("192.0.2.1")
    # Then it may connect again and nothing is kept for it
    assert limiter.connections("192.0.2.1") == 0
    assert limiter.open("192.0.2.1")
