"""Token buckets taken for several posts at once limit them as if one after the other."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import RateBucket
from ingest.rate_buckets import Limit, Refusal, take_each

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def levels(sessions: sessionmaker[Session]) -> dict[str, float]:
    with sessions() as session:
        rows = session.execute(select(RateBucket.key, RateBucket.tokens)).all()
    return {key: round(tokens, 6) for key, tokens in rows}


def test_posts_taken_together_share_their_buckets_and_a_refused_one_takes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    # Given an office address with room for one post and a form with room for five
    office = Limit("form-ip:192.0.2.7", 1, 1)
    form = Limit("form:contact", 5, 1)
    home = Limit("form-ip:198.51.100.3", 1, 1)
    # When three posts are taken together: two from the office, one from home
    with sessions.begin() as session:
        outcomes = take_each(
            session.connection(), [[office, form], [office, form], [home, form]], NOW
        )
    # Then the second office post is told to wait for the office bucket
    assert outcomes[0] is None and outcomes[2] is None
    refused = outcomes[1]
    assert isinstance(refused, Refusal) and refused.key == office.key
    assert refused.retry_after == 3600
    # And it took no token from the form: two posts took one each
    assert levels(sessions) == {office.key: 0, form.key: 3, home.key: 0}


def test_taking_together_is_taking_one_by_one(sessions: sessionmaker[Session]) -> None:
    # Given buckets taken by one post at a time
    email = Limit("form-email:ada@example.org", 2, 2)
    form = Limit("form:contact", 3, 60)
    requests = [[email, form]] * 4
    with sessions.begin() as session:
        apart = [take_each(session.connection(), [limits], NOW)[0] for limits in requests]
    one_by_one = levels(sessions)
    # When the same requests are taken together on fresh buckets
    with sessions.begin() as session:
        session.execute(RateBucket.__table__.delete())
        together = take_each(session.connection(), requests, NOW)
    # Then every answer and every level is the same
    assert together == apart
    assert [type(a).__name__ for a in apart] == ["NoneType", "NoneType", "Refusal", "Refusal"]
    assert levels(sessions) == one_by_one


def test_nothing_to_take_touches_no_bucket(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert take_each(session.connection(), [[], []], NOW) == [None, None]
    assert levels(sessions) == {}
