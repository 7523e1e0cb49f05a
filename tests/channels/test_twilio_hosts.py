"""Which hosts media is fetched from, and which account a conversation sends with."""

from __future__ import annotations

import pytest

from channels.twilio_client import account_for, is_media_host
from channels.twilio_sender import our_number, split_text
from config.twilio import TwilioCredentials

API = "https://api.twilio.com"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", True),
        ("https://media.twiliocdn.com/AC1/abc", True),
        ("https://s3-external-1.amazonaws.com/media.twiliocdn.com/x", False),
        ("http://api.twilio.com/2010-04-01/x", False),
        ("https://api.twilio.com.evil.example/x", False),
        ("https://evil.example/media.twiliocdn.com", False),
        ("http://127.0.0.1:9000/cdn/ME1", False),
    ],
)
def test_media_comes_only_from_twilios_hosts(url: str, allowed: bool) -> None:
    assert is_media_host(url, API) is allowed


def test_the_configured_api_host_serves_media_like_twilios() -> None:
    assert is_media_host("http://127.0.0.1:9000/cdn/ME1", "http://127.0.0.1:9000")
    assert not is_media_host("http://127.0.0.1:9001/cdn/ME1", "http://127.0.0.1:9000")


def test_a_conversation_sends_with_the_account_owning_its_number() -> None:
    one = TwilioCredentials("AC1", "t1", ("+14155550999",))
    pool = TwilioCredentials("AC2", "t2", ("MG" + "0" * 32,))
    assert account_for((one, pool), "+14155550999") is one
    # a pool number that is not listed belongs to the account with a Messaging Service
    assert account_for((one, pool), "+14155550777") is pool
    assert account_for((one, pool), None, "AC1") is one


def test_long_texts_split_between_words_and_keep_every_word() -> None:
    text = " ".join(f"w{i}" for i in range(1000))
    parts = split_text(text, 100)
    assert all(len(p) <= 100 for p in parts)
    assert " ".join(parts) == text
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_our_number_is_the_second_half_of_the_conversation_key() -> None:
    assert our_number("+14155550123:+14155550999") == "+14155550999"
    assert our_number("whatsapp:+14155550123:whatsapp:+14155238886") == "+14155238886"
    assert our_number(None) is None
