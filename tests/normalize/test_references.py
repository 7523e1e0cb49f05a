"""Signed references thread from anyone; forged or altered ones thread nowhere."""

from __future__ import annotations

from normalize.references import (
    signed_message_id,
    signed_reply_address,
    ticket_from_address,
    ticket_from_message_id,
)

SECRET = b"k" * 32


def test_signed_message_id_names_its_ticket() -> None:
    message_id = signed_message_id(SECRET, 10342, "a1b2c3d4e5f60718", "support.example.com")
    assert ticket_from_message_id(SECRET, message_id) == 10342


def test_message_id_with_another_ticket_number_is_rejected() -> None:
    message_id = signed_message_id(SECRET, 10342, "a1b2c3d4e5f60718", "support.example.com")
    forged = message_id.replace("omniroute.10342.", "omniroute.10343.")
    assert ticket_from_message_id(SECRET, forged) is None


def test_message_id_signed_with_another_key_is_rejected() -> None:
    message_id = signed_message_id(b"other", 7, "a1b2c3d4e5f60718", "support.example.com")
    assert ticket_from_message_id(SECRET, message_id) is None


def test_foreign_message_ids_are_not_ours() -> None:
    assert ticket_from_message_id(SECRET, "<CAF=abc@mail.gmail.com>") is None
    assert ticket_from_message_id(SECRET, "") is None


def test_signed_reply_address_names_its_ticket_in_any_case() -> None:
    address = signed_reply_address(SECRET, "Support@Example.com", 55)
    assert address.startswith("Support+55-")
    assert ticket_from_address(SECRET, address) == 55
    assert ticket_from_address(SECRET, f"<{address.upper()}>") == 55


def test_plus_address_with_a_guessed_number_is_rejected() -> None:
    address = signed_reply_address(SECRET, "support@example.com", 55)
    assert ticket_from_address(SECRET, address.replace("+55-", "+56-")) is None
    assert ticket_from_address(SECRET, "support+56@example.com") is None
