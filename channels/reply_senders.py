"""Reply senders, one per channel, registered explicitly (the contract is ``channels.outbound``).

A new channel adds one sender module and registers its factory here (or, from
outside this package, calls :func:`register` at start).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from channels.email_out import MailTransport
from channels.outbound import ReplySender
from config.settings import Settings


@dataclass(frozen=True, slots=True)
class SenderResources:
    """What a sender factory may use: settings and the process's shared clients."""

    settings: Settings
    mail: MailTransport


SenderFactory = Callable[[SenderResources], ReplySender]


def _email(resources: SenderResources) -> ReplySender:
    from channels.email_sender import EmailSender

    return EmailSender(resources.settings, resources.mail)


def _web(resources: SenderResources) -> ReplySender:
    from channels.webforms.sender import WebSender

    return WebSender(resources.settings, resources.mail)


def _sms(resources: SenderResources) -> ReplySender:
    from channels.twilio_sender import TwilioSender

    return TwilioSender(resources.settings, "sms")


def _whatsapp(resources: SenderResources) -> ReplySender:
    from channels.twilio_sender import TwilioSender

    return TwilioSender(resources.settings, "whatsapp")


def _slack(resources: SenderResources) -> ReplySender:
    from channels.slack_sender import SlackSender

    return SlackSender(resources.settings)


_FACTORIES: dict[str, SenderFactory] = {
    "email": _email,
    "web": _web,
    "sms": _sms,
    "whatsapp": _whatsapp,
    "slack": _slack,
}


def register(channel: str, factory: SenderFactory) -> None:
    """Add (or replace) the reply sender of ``channel``."""
    _FACTORIES[channel] = factory


def build_senders(resources: SenderResources) -> Mapping[str, ReplySender]:
    """One sender per registered channel, for this process, each made when first used."""
    return _Senders(resources, dict(_FACTORIES))


class _Senders(Mapping[str, ReplySender]):
    """A channel's sender (and its SDK: Slack's, Twilio's) is made on its first send,
    so a process that never answers on a channel never loads what it needs."""

    def __init__(self, resources: SenderResources, factories: dict[str, SenderFactory]) -> None:
        self._resources = resources
        self._factories = factories
        self._made: dict[str, ReplySender] = {}
        self._lock = threading.Lock()

    def __getitem__(self, channel: str) -> ReplySender:
        made = self._made.get(channel)
        if made is not None:
            return made
        factory = self._factories[channel]  # KeyError: no sender for that channel
        with self._lock:
            if channel not in self._made:
                self._made[channel] = factory(self._resources)
            return self._made[channel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)
