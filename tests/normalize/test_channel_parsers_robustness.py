"""Specification of the Slack, Twilio and web form parsers' totality: whatever the stored
input holds, a message whose every text can be stored, or ``Unparseable``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalize.errors import Unparseable
from normalize.parsers import parse_record
from normalize.types import ParseContext, ParsedInput
from tests.channels.slack.support import event
from tests.channels.twilio_support import params

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Any text a sender can type or a gateway relay, control characters and NUL included.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
WEB_ENVELOPE = {
    "email_field": "email",
    "name_field": "name",
    "subject_field": "subject",
    "body_fields": ["message"],
    "custom_fields": ["order"],
    "submission_id": "s-1",
}


def parsed_or_refused(channel: str, raw: bytes, envelope: dict[str, Any]) -> None:
    try:
        result = parse_record(channel, raw, envelope, ParseContext())
    except Unparseable as exc:
        assert exc.reason  # the sender's fault, said
        return
    assert isinstance(result, ParsedInput)
    for text in storable_texts(result):
        text.encode("utf-8")  # no lone surrogates
        assert "\x00" not in text, text  # PostgreSQL refuses NUL in text


def storable_texts(result: ParsedInput) -> list[str]:
    msg = result.message
    texts = [msg.external_id, msg.subject, msg.body_text, msg.body_full, msg.body_html or ""]
    texts += [msg.sender.value, msg.sender.name, msg.conversation_key or ""]
    texts += [party.value + party.name for party in msg.also_known_as]
    texts += [*msg.tags, *msg.warnings, *(name + value for name, value in msg.fields)]
    for info in msg.attachments:
        texts += [info.filename, info.content_type, info.sha256]
    return texts


@FUZZ
@given(raw=st.binary(max_size=512), channel=st.sampled_from(["slack", "twilio", "web"]))
def test_random_bytes_never_raise_anything_but_unparseable(raw: bytes, channel: str) -> None:
    parsed_or_refused(channel, raw, WEB_ENVELOPE if channel == "web" else {})


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "From",
                "To",
                "Body",
                "ProfileName",
                "MessageSid",
                "AccountSid",
                "NumMedia",
                "MediaUrl0",
                "MediaContentType0",
                "ButtonText",
                "MessagingServiceSid",
            ]
        ),
        TEXT,
        max_size=4,
    ),
    kind=st.sampled_from(["sms", "whatsapp", "mms"]),
)
def test_any_twilio_parameter_values_give_a_storable_message_or_a_refusal(
    changes: dict[str, str], kind: str
) -> None:
    form = params(kind) | changes
    parsed_or_refused("twilio", urlencode(form).encode(), {})


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "text",
                "user",
                "channel",
                "ts",
                "thread_ts",
                "subtype",
                "bot_id",
                "channel_type",
                "files",
                "message",
                "previous_message",
                "reaction",
                "item",
                "blocks",
            ]
        ),
        JSON_VALUE,
        max_size=3,
    ),
    name=st.sampled_from(
        [
            "message.im",
            "message.thread_reply",
            "message_changed",
            "message_deleted",
            "message.bot_message",
        ]
    ),
)
def test_any_slack_event_fields_give_a_storable_message_or_a_refusal(
    changes: dict[str, Any], name: str
) -> None:
    parsed_or_refused("slack", json.dumps(event(name, **changes)).encode(), {})


@FUZZ
@given(
    values=st.dictionaries(
        st.sampled_from(["email", "name", "subject", "message", "order", "other"]),
        TEXT,
        max_size=6,
    ),
    files=st.lists(
        st.fixed_dictionaries(
            {
                "filename": TEXT,
                "content_type": TEXT | st.text(max_size=400),
                "data": st.just("aGk="),
            }
        ),
        max_size=2,
    ),
)
def test_any_form_values_give_a_storable_message_or_a_refusal(
    values: dict[str, str], files: list[dict[str, str]]
) -> None:
    base = {"email": "jane@example.org", "message": "Hi"}
    document = {"form": "contact", "values": base | values, "files": files}
    parsed_or_refused("web", json.dumps(document).encode(), WEB_ENVELOPE)


@pytest.mark.parametrize(
    ("declared", "stored"),
    [
        ("Image/PNG ", "image/png"),
        ("image/png\x00", "application/octet-stream"),
        ("application/" + "x" * 300, "application/octet-stream"),
        ("<script>", "application/octet-stream"),
    ],
)
def test_a_files_declared_type_is_stored_only_when_it_is_one(declared: str, stored: str) -> None:
    files = [{"filename": "a.png", "content_type": declared, "data": "aGk="}]
    document = {"form": "contact", "values": {"email": "jane@example.org"}, "files": files}
    raw = json.dumps(document).encode()
    [info] = parse_record("web", raw, WEB_ENVELOPE, ParseContext()).message.attachments
    assert info.content_type == stored


@pytest.mark.parametrize("field", ["text", "user", "channel", "ts"])
def test_a_nul_in_a_slack_event_is_left_out(field: str) -> None:
    raw = json.dumps(event("message.im", **{field: "U0A\x00B"})).encode()
    message = parse_record("slack", raw, {}, ParseContext()).message
    assert "U0AB" in " ".join(storable_texts(ParsedInput(message)))
    parsed_or_refused("slack", raw, {})


@pytest.mark.parametrize("field", ["From", "To", "Body", "ProfileName", "AccountSid"])
def test_a_nul_in_a_twilio_parameter_is_left_out(field: str) -> None:
    form = params("whatsapp")
    form[field] = form[field][:4] + "\x00" + form[field][4:]
    raw = urlencode(form).encode()
    message = parse_record("twilio", raw, {}, ParseContext()).message
    assert params("whatsapp")[field].removeprefix("whatsapp:") in " ".join(
        storable_texts(ParsedInput(message))
    )
    parsed_or_refused("twilio", raw, {})


@pytest.mark.parametrize("field", ["email", "name", "subject", "message", "order"])
def test_a_nul_in_a_form_value_is_left_out(field: str) -> None:
    values = {"email": "jane@example.org", "name": "Jane", "subject": "Refund"}
    values |= {"message": "Hi there", "order": "A-1"}
    typed = values | {field: values[field][:2] + "\x00" + values[field][2:]}
    raw = json.dumps({"form": "contact", "values": typed, "files": []}).encode()
    message = parse_record("web", raw, WEB_ENVELOPE, ParseContext()).message
    assert values[field] in " ".join(storable_texts(ParsedInput(message)))
    parsed_or_refused("web", raw, WEB_ENVELOPE)
