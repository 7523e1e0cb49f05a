"""The web channel's parser and signed tokens: pure values in, values out."""

from __future__ import annotations

import base64
import json

import pytest

from normalize.errors import Unparseable
from normalize.form_tokens import (
    follow_up_token,
    form_token,
    form_token_issued,
    read_follow_up,
)
from normalize.parsers import parse_record
from normalize.types import ParseContext, PartyKind
from normalize.webform import form_tags

SECRET = b"k" * 32
ENVELOPE = {
    "email_field": "email",
    "name_field": "name",
    "subject_field": "subject",
    "body_fields": ["message"],
    "custom_fields": ["order"],
    "labels": {"order": "Order number"},
    "tags": ["refund"],
    "conversation_key": "web:abc",
    "submission_id": "abc",
}


def submission(**values: str) -> bytes:
    base = {"email": "Jane@Example.org", "name": "Jane", "subject": "Refund", "message": "Hi"}
    return json.dumps({"form": "contact", "values": {**base, **values}, "files": []}).encode()


def test_a_submission_is_a_web_party_claiming_its_email() -> None:
    parsed = parse_record("web", submission(order="A-1"), ENVELOPE, ParseContext()).message
    assert (parsed.sender.kind, parsed.sender.value, parsed.sender.verified) == (
        PartyKind.WEB,
        "jane@example.org",
        False,
    )
    assert [(p.kind, p.value, p.verified) for p in parsed.also_known_as] == [
        (PartyKind.EMAIL, "jane@example.org", False)
    ]
    assert parsed.subject == "Refund"
    assert parsed.body_text == parsed.body_full == "Hi\n\nOrder number: A-1"
    assert parsed.fields == (("order", "A-1"),)
    assert parsed.tags == ("refund",)
    assert parsed.conversation_key == "web:abc"


def test_a_submission_without_an_email_is_unparseable() -> None:
    with pytest.raises(Unparseable):
        parse_record("web", submission(email=""), ENVELOPE, ParseContext())


def test_files_over_the_limit_are_kept_as_refused() -> None:
    files = [
        {
            "filename": "../a.png",
            "content_type": "image/png",
            "data": base64.b64encode(b"x" * 10).decode(),
        }
    ]
    raw = json.dumps({"form": "contact", "values": {"email": "a@b.c"}, "files": files}).encode()
    parsed = parse_record("web", raw, ENVELOPE, ParseContext(max_attachment_bytes=5))
    (info,) = parsed.message.attachments
    assert info.filename == "a.png"
    assert info.refused_reason == "attachment exceeds 5 bytes"
    assert parsed.payloads == {}


def test_form_tags_slug_values_and_name_checked_boxes() -> None:
    values = {"topic": "Invoice question", "urgent": "on", "empty": ""}
    assert form_tags(values, ("topic", "urgent", "empty")) == ["invoice-question", "urgent"]


def test_a_form_token_names_its_form_and_time_and_cannot_be_forged() -> None:
    token = form_token(SECRET, "contact", 1_000)
    assert form_token_issued(SECRET, token, "contact") == 1_000
    assert form_token_issued(SECRET, token, "other") is None
    assert form_token_issued(b"other key", token, "contact") is None
    assert form_token_issued(SECRET, token.replace(".1000.", ".2000."), "contact") is None


def test_a_follow_up_token_cannot_be_extended_or_moved() -> None:
    token = follow_up_token(SECRET, 42, 1_000, 2_000)
    found = read_follow_up(SECRET, token)
    assert found is not None and (found.ticket, found.issued, found.expires) == (42, 1_000, 2_000)
    assert read_follow_up(SECRET, token.replace(".2000.", ".9000.")) is None
    assert read_follow_up(SECRET, token.replace("42.", "43.", 1)) is None
    assert read_follow_up(SECRET, "not-a-token") is None
