"""The signals a priority score is made of, one module each, listed in one registry.

A signal looks at the ticket and returns a ``Contribution`` (points and the reason)
or None. The weights come from ``config.scoring.Scoring``; a new signal is one module
here, one entry in ``SIGNALS`` and one weight in ``Scoring``.
"""

from __future__ import annotations

from router.signals.anger import anger
from router.signals.base import Contribution, Signal
from router.signals.channel import channel
from router.signals.repeat import repeat_contact
from router.signals.sentiment import sentiment
from router.signals.tier import tier
from router.signals.urgency import urgency

SIGNALS: tuple[Signal, ...] = (urgency, sentiment, anger, tier, channel, repeat_contact)

__all__ = ["SIGNALS", "Contribution", "Signal"]
