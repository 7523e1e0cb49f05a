"""Twilio accounts omniroute answers for: from ``OMNIROUTE_TWILIO_*`` or a JSON list.

One account is three settings (``OMNIROUTE_TWILIO_ACCOUNT_SID``,
``OMNIROUTE_TWILIO_AUTH_TOKEN``, ``OMNIROUTE_TWILIO_NUMBERS``); several are a JSON
list in ``OMNIROUTE_TWILIO_ACCOUNTS``, each naming the environment variable that
holds its auth token (``auth_token_env``), as IMAP mailboxes name their passwords.
A number is an E.164 phone number, a WhatsApp sender ``whatsapp:+E164``, or a
Messaging Service SID (``MG…``) whose pool numbers we send from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config.errors import ConfigError

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
ACCOUNT_SID = r"^AC[0-9a-fA-F]{32}$"
TWILIO_API = "https://api.twilio.com"


def check_number(value: str) -> str:
    """An E.164 number, ``whatsapp:+E164``, or a Messaging Service SID; else ValueError."""
    value = value.strip()
    bare = value.removeprefix("whatsapp:")
    if E164.match(bare) or MESSAGING_SERVICE.match(value):
        return value
    raise ValueError(f"not an E.164 number, whatsapp:+E164 or MG… SID: {value!r}")


class TwilioAccount(BaseModel):
    """One account in ``OMNIROUTE_TWILIO_ACCOUNTS``; its token is read from ``auth_token_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_sid: str = Field(pattern=ACCOUNT_SID)
    auth_token_env: str = Field(min_length=1)
    numbers: tuple[str, ...] = ()

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_number(n) for n in value)


@dataclass(frozen=True, slots=True)
class TwilioCredentials:
    """An account ready to use: its SID, its auth token and the numbers it sends from."""

    account_sid: str
    auth_token: str
    numbers: tuple[str, ...]

    @property
    def messaging_service(self) -> str | None:
        return next((n for n in self.numbers if MESSAGING_SERVICE.match(n)), None)

    def owns(self, number: str) -> bool:
        return number in self.numbers


def resolve_accounts(
    single_sid: str | None,
    single_token: str | None,
    single_numbers: tuple[str, ...],
    listed: tuple[TwilioAccount, ...],
) -> tuple[TwilioCredentials, ...]:
    """Every configured account with its token; ``ConfigError`` names a missing token."""
    accounts: list[TwilioCredentials] = []
    if single_sid:
        if not single_token:
            raise ConfigError("OMNIROUTE_TWILIO_AUTH_TOKEN is required with the account SID")
        accounts.append(TwilioCredentials(single_sid, single_token, single_numbers))
    for account in listed:
        token = os.environ.get(account.auth_token_env)
        if not token:
            raise ConfigError(f"account {account.account_sid}: {account.auth_token_env} is not set")
        accounts.append(TwilioCredentials(account.account_sid, token, account.numbers))
    sids = [a.account_sid for a in accounts]
    if len(sids) != len(set(sids)):
        raise ConfigError("each Twilio account may be configured once")
    return tuple(accounts)
