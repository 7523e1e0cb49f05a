"""Per-client bounds on the SMTP edge: concurrent connections and messages a minute per IP.

One client (a misconfigured script, a compromised host, a flood) must not take
every connection slot or fill the store's write queue. The defaults are generous
(a big provider's relay sends from few addresses); ``0`` turns a bound off.
The state lives in the SMTP server's one event loop, so it needs no lock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from config.settings import Settings

WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class SmtpLimits:
    """What the edge allows: message size (also the longest line) and per-client bounds."""

    max_message_bytes: int = 25 * 1024 * 1024
    max_connections_per_client: int = 50
    max_messages_per_client_per_minute: int = 600
    # Messages waiting for the store's writer; past it the edge answers "busy".
    max_pending_writes: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpLimits:
        return cls(
            max_message_bytes=settings.smtp_max_message_bytes,
            max_connections_per_client=settings.smtp_max_connections_per_client,
            max_messages_per_client_per_minute=settings.smtp_max_messages_per_client_per_minute,
            max_pending_writes=settings.smtp_max_pending_writes,
        )


@dataclass(slots=True)
class ClientLimiter:
    """Counts open connections and recent messages per client address."""

    max_connections: int
    max_messages_per_minute: int
    clock: Callable[[], float] = time.monotonic
    _connections: dict[str, int] = field(default_factory=dict)
    _messages: dict[str, deque[float]] = field(default_factory=dict)

    def open(self, client: str) -> bool:
        """Count a new connection; ``False`` (and not counted) when the client has too many."""
        current = self._connections.get(client, 0)
        if self.max_connections and current >= self.max_connections:
            return False
        self._connections[client] = current + 1
        return True

    def close(self, client: str) -> None:
        """Forget one connection counted by ``open``."""
        remaining = self._connections.get(client, 0) - 1
        if remaining > 0:
            self._connections[client] = remaining
        else:
            self._connections.pop(client, None)

    def connections(self, client: str) -> int:
        return self._connections.get(client, 0)

    def take_message(self, client: str) -> bool:
        """Count one message from ``client``; ``False`` (not counted) past the rate."""
        if not self.max_messages_per_minute:
            return True
        now = self.clock()
        recent = self._messages.setdefault(client, deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self.max_messages_per_minute:
            return False
        recent.append(now)
        self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        # Bound the memory a stream of one-off clients can take.
        if len(self._messages) > 10_000:
            idle = [c for c, times in self._messages.items() if times[-1] <= now - WINDOW_SECONDS]
            for client in idle:
                del self._messages[client]
