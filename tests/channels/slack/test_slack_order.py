"""Out of order: a thread reply or an edit processed before its message waits for it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import unit_of_work
from ingest.models import InboundRecord, Message
from ingest.pipeline import process_inbound
from ingest.signals import Defer
from tests.channels.slack.support import event, post_event
from tests.harness import Pipeline


def record_ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord.id).order_by(InboundRecord.id)).scalars())


def ingest(sessions: sessionmaker[Session], inbound_id: int, settings: Settings) -> None:
    with unit_of_work(sessions) as session:
        process_inbound(session, inbound_id, settings)


@pytest.mark.parametrize("follower", ["message.thread_reply", "message_changed"])
def test_what_follows_a_message_waits_until_the_message_is_processed(
    follower: str,
    http: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    slack: Settings,
) -> None:
    # Given a DM and then a thread reply to it (or an edit of it), both stored
    post_event(http, event("message.im"))
    post_event(http, event(follower))
    root, follow = record_ids(sessions)
    # When the follower is processed first
    with pytest.raises(Defer, match=f"waits for inbound {root}"):
        ingest(sessions, follow, slack)
    # Then it is left pending, and once the DM is processed it joins the DM's ticket
    ingest(sessions, root, slack)
    ingest(sessions, follow, slack)
    with sessions() as session:
        statuses = session.execute(select(InboundRecord.status).order_by(InboundRecord.id)).all()
        tickets = set(
            session.execute(select(Message.ticket_id).where(Message.direction == "inbound"))
            .scalars()
            .all()
        )
    assert [s for (s,) in statuses] == ["processed", "processed"]
    assert len(tickets) == 1
