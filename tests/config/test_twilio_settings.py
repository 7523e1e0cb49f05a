"""Twilio settings: one account from three variables, or several as a JSON list."""

from __future__ import annotations

import json

import pytest

from config.errors import ConfigError
from config.settings import load_settings

SID_A = "AC" + "a" * 32
SID_B = "AC" + "b" * 32


def test_one_account_from_its_three_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIROUTE_TWILIO_ACCOUNT_SID", SID_A)
    monkeypatch.setenv("OMNIROUTE_TWILIO_AUTH_TOKEN", "token-a")
    monkeypatch.setenv("OMNIROUTE_TWILIO_NUMBERS", "+14155550999, whatsapp:+14155238886")
    monkeypatch.setenv("OMNIROUTE_PUBLIC_URL", "https://support.example.com/")
    settings = load_settings()
    (account,) = settings.twilio
    assert (account.account_sid, account.auth_token) == (SID_A, "token-a")
    assert account.numbers == ("+14155550999", "whatsapp:+14155238886")
    assert settings.public_url == "https://support.example.com"


def test_several_accounts_read_their_tokens_from_the_named_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts = [
        {"account_sid": SID_A, "auth_token_env": "TOKEN_A", "numbers": ["+14155550999"]},
        {"account_sid": SID_B, "auth_token_env": "TOKEN_B", "numbers": ["MG" + "0" * 32]},
    ]
    monkeypatch.setenv("OMNIROUTE_TWILIO_ACCOUNTS", json.dumps(accounts))
    monkeypatch.setenv("TOKEN_A", "token-a")
    monkeypatch.setenv("TOKEN_B", "token-b")
    found = load_settings().twilio
    assert [(a.account_sid, a.auth_token) for a in found] == [
        (SID_A, "token-a"),
        (SID_B, "token-b"),
    ]
    assert found[1].messaging_service == "MG" + "0" * 32


def test_an_unset_token_variable_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts = [{"account_sid": SID_A, "auth_token_env": "MISSING_TOKEN"}]
    monkeypatch.setenv("OMNIROUTE_TWILIO_ACCOUNTS", json.dumps(accounts))
    monkeypatch.delenv("MISSING_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="MISSING_TOKEN is not set"):
        _ = load_settings().twilio


def test_a_number_that_is_not_e164_is_refused_with_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIROUTE_TWILIO_NUMBERS", "415-555-0999")
    with pytest.raises(ConfigError, match="OMNIROUTE_TWILIO_NUMBERS"):
        load_settings()


def test_without_twilio_settings_there_are_no_accounts() -> None:
    assert load_settings().twilio == ()
