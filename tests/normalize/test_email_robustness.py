"""Specification of the email parser's totality: any bytes give a message or ``Unparseable``."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalize.email import EmailLimits, parse_email
from normalize.errors import Unparseable
from normalize.types import ParsedInput
from tests.normalize.email_fixtures import all_fixtures

FIXTURE_BYTES = [path.read_bytes() for path in all_fixtures()]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parse_or_refuse(data: bytes, envelope_sender: str | None) -> None:
    try:
        result = parse_email(data, envelope_sender=envelope_sender)
    except Unparseable as exc:
        # Only the documented refusals; anything else raised is a bug and fails the test.
        assert exc.reason.startswith(
            ("no usable sender", "header block exceeds", "MIME nesting too deep")
        )
        return
    assert isinstance(result, ParsedInput)
    assert result.message.external_id.startswith("<")
    # Every text is storable: valid UTF-8 (no lone surrogates) and free of NUL.
    for text in _texts(result):
        text.encode("utf-8")
        assert "\x00" not in text


def _texts(result: ParsedInput) -> list[str]:
    msg = result.message
    texts = [msg.external_id, msg.subject, msg.body_text, msg.body_full, msg.body_html or ""]
    texts += [msg.sender.value + msg.sender.name]
    texts += [a.email + a.name for a in msg.recipients]
    texts += [*msg.in_reply_to, *msg.references, *msg.auto_reasons, *msg.warnings]
    for info in msg.attachments:
        texts += [info.filename, info.content_type, info.content_id or "", info.sha256]
    return texts


def test_header_block_over_the_limit_is_unparseable() -> None:
    # Given a message whose header block is about 1 MB
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 100) for n in range(10_000))
    mail = b"From: a@example.org\r\n" + filler + b"\r\nbody\r\n"
    # When parsed with the default 256 KiB limit
    # Then it is refused with the limit in the reason
    with pytest.raises(Unparseable, match="header block exceeds 262144 bytes"):
        parse_email(mail)


def test_large_body_does_not_count_against_the_header_limit() -> None:
    # Given small headers and a body larger than the header limit
    mail = b"From: a@example.org\r\nMessage-ID: <big@x>\r\n\r\n" + b"line\r\n" * 1000
    # When parsed with a 1 KiB header limit
    msg = parse_email(mail, limits=EmailLimits(max_header_bytes=1024)).message
    # Then the message is parsed
    assert msg.body_full.count("line") == 1000


def test_message_without_any_sender_is_unparseable() -> None:
    # Given a message with no From and no envelope sender
    # When parsed
    # Then it is refused naming the missing sender
    with pytest.raises(Unparseable, match="no usable sender"):
        parse_email(b"Subject: who am I\r\n\r\nhello\r\n")


def test_unparseable_from_without_envelope_is_unparseable() -> None:
    # Given a From header with no address in it
    # When parsed without an envelope sender
    # Then it is refused
    with pytest.raises(Unparseable, match="no usable sender"):
        parse_email(b"From: just a name\r\n\r\nhello\r\n")


def test_garbage_without_envelope_sender_is_unparseable() -> None:
    # Given bytes that are not mail and no envelope sender
    # When parsed
    # Then it is Unparseable, not another exception
    with pytest.raises(Unparseable):
        parse_email(bytes(range(256)))


def test_deeply_nested_multipart_is_parsed_without_error() -> None:
    # Given 200 levels of nested multipart
    depth = 200
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    mail = b"From: a@example.org\r\n" + head + b"Content-Type: text/plain\r\n\r\ndeep" + tail
    # When parsed
    # Then it gives a message or Unparseable, never another error
    _parse_or_refuse(mail, None)


@pytest.mark.parametrize("encoding", ["8bit", "quoted-printable", "base64"])
def test_a_charset_no_codec_takes_leaves_the_body_readable(encoding: str) -> None:
    # A NUL in the charset's name: the standard library's text payload raises ValueError
    # (not LookupError) for it when the body holds 8-bit bytes.
    body = "I paid €50 and I’m still waiting.".encode("cp1252")
    if encoding == "base64":
        body = base64.encodebytes(body) + b"\x92"
    mail = (
        b"From: frank@example.com\r\nMessage-ID: <nul-charset@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf\x00-8\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + body + b"\r\n"
    )
    result = parse_email(mail, envelope_sender=None)
    assert any("unknown charset" in warning for warning in result.message.warnings)
    if encoding != "base64":
        assert result.message.body_text == "I paid €50 and I’m still waiting."
    else:  # 8-bit bytes in base64: what decodes is kept, the broken tail said so
        assert "I paid €50" in result.message.body_text
    _parse_or_refuse(mail, None)


@FUZZ
@given(data=st.binary(max_size=4096), envelope=st.one_of(st.none(), st.text(max_size=40)))
def test_random_bytes_never_raise_anything_but_unparseable(
    data: bytes, envelope: str | None
) -> None:
    # Given arbitrary bytes and any envelope sender
    # When parsed
    # Then the result is a ParsedInput or Unparseable
    _parse_or_refuse(data, envelope)


@FUZZ
@given(
    original=st.sampled_from(FIXTURE_BYTES),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 12), st.binary(max_size=12)), max_size=8
    ),
)
def test_mutated_fixtures_never_raise_anything_but_unparseable(
    original: bytes, edits: list[tuple[float, int, bytes]]
) -> None:
    # Given a real message with bytes deleted and inserted at random places
    data = bytearray(original)
    for where, cut, insert in edits:
        position = int(where * len(data))
        data[position : position + cut] = insert
    # When parsed
    # Then the result is a ParsedInput or Unparseable
    _parse_or_refuse(bytes(data), "fallback@example.org")


@FUZZ
@given(
    original=st.sampled_from(FIXTURE_BYTES),
    header=st.sampled_from(
        [
            "Subject",
            "From",
            "To",
            "Message-ID",
            "References",
            "Date",
            "Content-Type",
            "Content-Transfer-Encoding",
            "Content-Disposition",
        ]
    ),
    value=st.text(max_size=80),
)
def test_arbitrary_header_values_never_raise(original: bytes, header: str, value: str) -> None:
    # Given a real message with one header replaced by arbitrary text
    data = f"{header}: {value}\r\n".encode("utf-8", "surrogatepass") + original
    # When parsed
    # Then the result is a ParsedInput or Unparseable
    _parse_or_refuse(data, None)
