"""IMAP mailboxes to read, as configured in ``OMNIROUTE_IMAP_MAILBOXES`` (a JSON list).

Credentials are never values here: ``password_env`` or ``oauth2_token_env`` names
the environment variable that holds the secret, read when connecting.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ImapMailbox(BaseModel):
    """One IMAP mailbox to read; credentials are named env vars, never values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls", "plain"] = "tls"
    username: str = Field(min_length=1)
    password_env: str | None = None
    oauth2_token_env: str | None = None
    folder: str = "INBOX"
    after_accept: Literal["seen", "move", "leave"] = "seen"
    move_to: str | None = None
    # IDLE is renewed before servers drop it (RFC 2177: at least every 29 minutes).
    poll_seconds: float = Field(default=60, gt=0)
    idle_seconds: float = Field(default=540, gt=0, lt=29 * 60)
    timeout_seconds: float = Field(default=60, gt=0)
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _check(self) -> ImapMailbox:
        if (self.password_env is None) == (self.oauth2_token_env is None):
            raise ValueError(f"mailbox {self.name}: set one of password_env or oauth2_token_env")
        if self.after_accept == "move" and not self.move_to:
            raise ValueError(f"mailbox {self.name}: after_accept move needs move_to")
        if self.security == "plain" and not _is_loopback(self.host):
            raise ValueError(f"mailbox {self.name}: security plain is allowed only on loopback")
        return self

    @property
    def resolved_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
