"""The Twilio parser: SMS, MMS and WhatsApp webhooks become messages (pure, plain data)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from normalize.errors import Unparseable
from normalize.parsers import parse_record
from normalize.twilio import decode_body, keyword_of, media_of
from normalize.types import ParseContext, PartyKind
from tests.channels.twilio_fake import ACCOUNT_SID
from tests.channels.twilio_support import params


def test_an_sms_becomes_a_verified_phone_message_in_its_conversation() -> None:
    msg = parse_record("twilio", urlencode(params("sms")).encode(), {}, ParseContext()).message
    assert msg.channel == "sms"
    assert msg.external_id == "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert (msg.sender.kind, msg.sender.value, msg.sender.verified) == (
        PartyKind.PHONE,
        "+14155550123",
        True,
    )
    assert msg.conversation_key == "+14155550123:+14155550999"
    assert msg.subject == msg.body_text == "My order 1234 never arrived"
    assert ("twilio_account", ACCOUNT_SID) in msg.fields


def test_a_whatsapp_sender_is_the_same_phone_identity_on_the_whatsapp_channel() -> None:
    msg = parse_record("twilio", urlencode(params("whatsapp")).encode(), {}, ParseContext()).message
    assert msg.channel == "whatsapp"
    assert (msg.sender.kind, msg.sender.value, msg.sender.name) == (
        PartyKind.PHONE,
        "+14155550123",
        "Pat Doe",
    )
    assert msg.conversation_key == "whatsapp:+14155550123:whatsapp:+14155238886"


def test_a_base64_concatenated_body_is_decoded_with_a_warning() -> None:
    msg = parse_record(
        "twilio", urlencode(params("concatenated_base64")).encode(), {}, ParseContext()
    ).message
    assert msg.body_text.startswith("This is a long message that my phone split")
    assert msg.warnings == ("body was base64-encoded (a concatenated SMS); decoded",)


def test_ordinary_text_is_never_taken_for_base64() -> None:
    assert decode_body("STOP") == ("STOP", False)
    # 68 base64 letters, but they decode to bytes that are not printable UTF-8
    text = "ThisIsAVeryLongWordWithoutSpacesThatLooksLikeBase64ButIsPlainText123"
    assert len(text) % 4 == 0
    assert decode_body(text) == (text, False)


def test_a_national_number_is_read_in_the_default_region() -> None:
    form = params("sms") | {"From": "030 1234567", "To": "+4930555000"}
    msg = parse_record("twilio", urlencode(form).encode(), {}, ParseContext(default_region="DE"))
    assert msg.message.sender.value == "+49301234567"


def test_a_sender_that_is_no_phone_number_is_quarantined_with_a_reason() -> None:
    form = params("sms") | {"From": "not a number"}
    with pytest.raises(Unparseable, match="not a phone number"):
        parse_record("twilio", urlencode(form).encode(), {}, ParseContext())


def test_a_message_without_its_sid_is_quarantined() -> None:
    form = {k: v for k, v in params("sms").items() if "Sid" not in k or k == "AccountSid"}
    with pytest.raises(Unparseable, match="MessageSid"):
        parse_record("twilio", urlencode(form).encode(), {}, ParseContext())


def test_every_media_item_up_to_num_media_is_listed() -> None:
    form = params("mms", api="https://api.twilio.com")
    items = media_of(form)
    assert [(m.index, m.content_type) for m in items] == [(0, "image/jpeg"), (1, "image/png")]
    # NumMedia bounds the list, even if more URLs are present
    assert len(media_of(form | {"NumMedia": "1"})) == 1


def test_a_json_body_parses_like_a_form() -> None:
    raw = json.dumps(params("sms")).encode()
    msg = parse_record("twilio", raw, {"content_type": "json"}, ParseContext()).message
    assert msg.external_id == "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "opt-out"),
        (" stop ", "opt-out"),
        ("StopAll", "opt-out"),
        ("UNSUBSCRIBE", "opt-out"),
        ("cancel", "opt-out"),
        ("END", "opt-out"),
        ("quit", "opt-out"),
        ("REVOKE", "opt-out"),
        ("optout", "opt-out"),
        ("START", "opt-in"),
        ("unstop", "opt-in"),
        ("HELP", "help"),
        ("please stop sending me bills", None),
        ("", None),
    ],
)
def test_keywords_are_the_whole_text(text: str, keyword: str | None) -> None:
    assert keyword_of(text) == keyword
