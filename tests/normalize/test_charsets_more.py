"""More charsets seen in support mail, declared and undeclared, and TNEF attachments."""

from __future__ import annotations

import base64

import pytest

from normalize.email import parse_email

SAMPLES = {
    "koi8-r": "Здравствуйте, мой заказ не пришёл. Пожалуйста, помогите разобраться.",
    "gb18030": "您好，我的订单还没有到，请帮我查一下物流信息，谢谢。",
    "gb2312": "您好，我的订单还没有到，请帮我查一下物流信息，谢谢。",
    "big5": "您好，我的訂單還沒有到，請幫我查一下物流資訊，謝謝。",
    "iso-8859-5": "Здравствуйте, мой заказ не пришёл. Пожалуйста, помогите разобраться.",
}


def mail(body: bytes, content_type: str) -> bytes:
    return (
        b"From: customer@example.net\r\nTo: support@example.com\r\nSubject: order\r\n"
        b"Message-ID: <cs@example.net>\r\nMIME-Version: 1.0\r\n"
        + f"Content-Type: {content_type}\r\n".encode()
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + body
        + b"\r\n"
    )


@pytest.mark.parametrize("charset", sorted(SAMPLES))
def test_declared_charset_is_decoded(charset: str) -> None:
    # Given a body in a legacy charset that says so
    raw = mail(SAMPLES[charset].encode(charset), f"text/plain; charset={charset}")
    # When it is parsed
    message = parse_email(raw).message
    # Then the text reads as written
    assert SAMPLES[charset] in message.body_text


@pytest.mark.parametrize("charset", ["koi8-r", "gb18030", "big5"])
def test_undeclared_charset_is_recovered_without_replacement_characters(charset: str) -> None:
    # Given the same body with no charset declared at all
    raw = mail(SAMPLES[charset].encode(charset), "text/plain")
    # When it is parsed
    message = parse_email(raw).message
    # Then no replacement characters are stored, and the text reads as written
    assert "\ufffd" not in message.body_text
    assert SAMPLES[charset] in message.body_text


def test_winmail_dat_is_kept_as_an_attachment() -> None:
    # Given an Outlook TNEF attachment
    tnef = b"\x78\x9f\x3e\x22" + bytes(range(256)) * 4
    raw = (
        b"From: outlook@example.net\r\nTo: support@example.com\r\nSubject: tnef\r\n"
        b"Message-ID: <tnef@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="X"\r\n\r\n'
        b"--X\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--X\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(tnef) + b"--X--\r\n"
    )
    # When it is parsed
    parsed = parse_email(raw)
    # Then it is stored whole, by hash
    [attachment] = parsed.message.attachments
    assert (attachment.filename, attachment.size) == ("winmail.dat", len(tnef))
    assert parsed.payloads[attachment.sha256] == tnef
