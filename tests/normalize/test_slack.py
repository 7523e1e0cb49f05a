"""The Slack parser: pure, from the stored event to a message and what it is."""

from __future__ import annotations

import json

import pytest

from normalize.errors import Unparseable
from normalize.parsers import parse_record
from normalize.slack import fields_of, plain_text
from normalize.types import ParseContext, PartyKind
from tests.channels.slack.support import event


def parse(body: object) -> dict[str, str]:
    parsed = parse_record("slack", json.dumps(body).encode(), {}, ParseContext())
    return {**fields_of(parsed.message), "_key": str(parsed.message.conversation_key)}


def test_a_dm_is_a_message_from_the_slack_user_in_its_own_thread() -> None:
    parsed = parse_record(
        "slack", json.dumps(event("message.im")).encode(), {}, ParseContext()
    ).message
    assert (parsed.sender.kind, parsed.sender.value) == (PartyKind.SLACK, "T0OURS:U0ALICE")
    assert parsed.conversation_key == "T0OURS:D0ALICE:1700000000.000100"
    assert parsed.external_id == "D0ALICE:1700000000.000100"
    assert fields_of(parsed)["slack.channel_type"] == "im"


def test_a_thread_reply_is_keyed_by_its_thread() -> None:
    fields = parse(event("message.thread_reply"))
    assert fields["_key"] == "T0OURS:D0ALICE:1700000000.000100"
    assert fields["slack.thread_ts"] != fields["slack.ts"]


def test_an_edit_names_the_message_it_changes() -> None:
    body = event("message_changed")
    parsed = parse_record("slack", json.dumps(body).encode(), {}, ParseContext()).message
    assert fields_of(parsed)["slack.kind"] == "edit"
    assert parsed.external_id == "D0ALICE:1700000000.000100"
    assert parsed.body_text == "Hi, I can't log in to the dashboard since yesterday evening."


def test_a_delete_names_the_deleted_message() -> None:
    parsed = parse_record(
        "slack", json.dumps(event("message_deleted")).encode(), {}, ParseContext()
    ).message
    assert (fields_of(parsed)["slack.kind"], parsed.external_id) == (
        "delete",
        "D0ALICE:1700000000.000100",
    )


def test_joins_are_noise_and_other_bots_are_marked() -> None:
    assert parse(event("message.channel_join"))["slack.kind"] == "noise"
    bot = parse(event("message.bot_message"))
    assert (bot["slack.kind"], bot["slack.bot"]) == ("message", "B0CIBOT")


def test_a_reaction_names_the_reacted_message() -> None:
    fields = parse(event("reaction_added"))
    assert (fields["slack.kind"], fields["slack.reaction"]) == ("reaction", "ticket")
    assert fields["_key"] == "T0OURS:C0GENERAL:1700000500.000600"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not a JSON Slack event"),
        (b'{"type": "url_verification"}', "not a Slack event_callback"),
        (b'{"type": "event_callback", "team_id": "T1"}', "without an event"),
        (b'{"type": "event_callback", "event": {"type": "message"}}', "without a team_id"),
    ],
)
def test_what_is_not_a_slack_event_is_unparseable_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Unparseable, match=reason):
        parse_record("slack", raw, {}, ParseContext())


def test_slack_markup_becomes_plain_text() -> None:
    assert plain_text("see <https://x.test/a|the docs> &amp; <https://y.test>") == (
        "see the docs (https://x.test/a) & https://y.test"
    )
    assert plain_text("hi <@U0BOT> in <#C0SUPPORT|support>") == "hi <@U0BOT> in support"
