"""Specification of body selection, HTML handling, charsets and quote stripping in email."""

from __future__ import annotations

from normalize.email import parse_email
from tests.normalize.email_fixtures import message


def test_plain_text_alternative_is_preferred_for_the_body() -> None:
    # Given multipart/alternative with text/plain and text/html
    # When parsed
    msg = message("multipart_alternative.eml")
    # Then the body is the plain text (quoted-printable UTF-8 decoded)
    assert msg.body_full == "Why was I charged twice? €49 each."


def test_html_alternative_is_kept_sanitized() -> None:
    # Given multipart/alternative with an HTML part
    # When parsed
    msg = message("multipart_alternative.eml")
    # Then body_html holds the sanitized markup without the document wrapper
    assert msg.body_html == "<p>Why was I charged <b>twice</b>? €49 each.</p>"


def test_html_only_mail_becomes_readable_text_with_list_items() -> None:
    # Given an HTML-only message with a list
    # When parsed
    msg = message("html_only.eml")
    # Then the body is text with line breaks and list items
    assert msg.body_full.startswith("I cannot log in since yesterday.\n")
    assert "* Tried resetting my password\n" in msg.body_full
    assert "* Tried another browser" in msg.body_full


def test_html_links_become_text_followed_by_url() -> None:
    # Given an HTML link
    # When the HTML-only message is parsed
    msg = message("html_only.eml")
    # Then the text shows the link as "text (url)"
    assert "See the status page (https://status.example.com/incident)." in msg.body_full


def test_html_scripts_and_head_never_reach_text_or_html() -> None:
    # Given HTML with <script> in head and body, and a <title>
    # When parsed
    msg = message("html_only.eml")
    # Then neither the text nor the sanitized HTML contains them
    assert msg.body_html is not None
    for output in (msg.body_full, msg.body_html):
        assert "alert" not in output
        assert "document.location" not in output
        assert "ignored" not in output
    assert "<script" not in msg.body_html


def test_sanitized_html_has_no_event_handlers() -> None:
    # Given <p onclick="steal()">
    # When parsed
    msg = message("html_only.eml")
    # Then the handler is gone but the paragraph remains
    assert msg.body_html is not None
    assert "onclick" not in msg.body_html
    assert "<p>I cannot log in since yesterday.</p>" in msg.body_html


def test_sanitized_html_drops_remote_image_sources_and_keeps_cid() -> None:
    # Given a remote tracking pixel and an inline cid: image
    # When parsed
    msg = message("html_only.eml")
    # Then the remote src is removed, the cid: reference kept
    assert msg.body_html is not None
    assert "tracker.example" not in msg.body_html
    assert 'src="cid:logo@example.org"' in msg.body_html


def test_undeclared_8bit_latin1_is_decoded_with_warning() -> None:
    # Given 8-bit Latin-1 text with no charset parameter
    # When parsed
    msg = message("latin1_no_charset.eml")
    # Then accents read correctly and the guess is reported
    assert "arrivée. Le café était pour mon frère, à Noël." in msg.body_full
    assert msg.warnings == ("body: no charset declared for 8-bit text; guessed cp1252",)


def test_windows_1252_declared_as_utf8_is_recovered_with_warning() -> None:
    # Given windows-1252 bytes (euro sign, smart quotes) labelled utf-8
    # When parsed
    msg = message("cp1252_declared_utf8.eml")
    # Then the text is recovered and the fallback named
    assert msg.body_full == (
        "I paid €50 and you said \u201cwe will refund it\u201d \u2013 but nothing happened. "
        "I\u2019m still waiting for the money."
    )
    assert msg.warnings == ("body: charset 'utf-8' did not decode; guessed cp1252",)


def test_iso_2022_jp_body_subject_and_name_are_decoded() -> None:
    # Given a Japanese message in ISO-2022-JP (RFC 1468) with encoded headers
    # When parsed
    msg = message("iso2022jp.eml")
    # Then body, subject and display name are Japanese text, without warnings
    assert msg.body_full == "お世話になっております。注文の件で連絡しました。"
    assert msg.subject == "注文について"
    assert msg.sender.name == "山田太郎"
    assert msg.warnings == ()


def test_unknown_declared_charset_falls_back_with_warning() -> None:
    # Given a body labelled with a charset no codec knows
    mail = (
        b"From: a@example.org\r\nMessage-ID: <c@x>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nna\xc3\xafve\r\n"
    )
    # When parsed
    msg = parse_email(mail).message
    # Then strict UTF-8 is tried and the fallback is named
    assert msg.body_full == "naïve"
    assert msg.warnings == (
        "body: unknown charset 'x-no-such-charset' declared (RFC 6657 fallback); decoded as utf-8",
    )


def test_undecodable_8bit_header_is_read_as_windows_1252() -> None:
    # Given a raw 8-bit Latin-1 subject (not RFC 2047 encoded)
    mail = b"From: a@example.org\r\nMessage-ID: <h@x>\r\nSubject: caf\xe9 cr\xe8me\r\n\r\nhi\r\n"
    # When parsed
    msg = parse_email(mail).message
    # Then it is readable text
    assert msg.subject == "café crème"


def test_reply_text_excludes_gmail_quote_and_signature() -> None:
    # Given a reply with a "-- " signature and a wrapped "On ... wrote:" quote
    # When parsed
    msg = message("gmail_reply.eml")
    # Then body_text is only what was just written
    assert msg.body_text == "It is still jammed this morning."


def test_reply_full_body_keeps_quote_and_signature() -> None:
    # Given the same reply
    # When parsed
    msg = message("gmail_reply.eml")
    # Then body_full still has everything
    assert "Mia Example" in msg.body_full
    assert "> Your ticket number is 10342." in msg.body_full


def test_outlook_original_message_separator_cuts_body_text() -> None:
    # Given an Outlook-style reply
    mail = (
        b"From: a@example.org\r\nMessage-ID: <o@x>\r\n\r\n"
        b"Yes, please go ahead.\r\n\r\n-----Original Message-----\r\n"
        b"From: Support\r\nSent: Monday\r\n\r\nShall we?\r\n"
    )
    # When parsed
    msg = parse_email(mail).message
    # Then body_text stops before the separator
    assert msg.body_text == "Yes, please go ahead."


def test_trailing_quoted_lines_are_removed_but_inline_quotes_kept() -> None:
    # Given a bottom-posted answer between quotes, and a trailing quote
    mail = (
        b"From: a@example.org\r\nMessage-ID: <q@x>\r\n\r\n"
        b"> Which model?\r\nThe X200.\r\n\r\n> Thanks\r\n> Support\r\n"
    )
    # When parsed
    msg = parse_email(mail).message
    # Then only the trailing run of quoted lines is removed
    assert msg.body_text == "> Which model?\nThe X200."


def test_all_quoted_body_keeps_its_text() -> None:
    # Given a message that is nothing but a quote
    mail = b"From: a@example.org\r\nMessage-ID: <a@x>\r\n\r\n> only a quote\r\n"
    # When parsed
    msg = parse_email(mail).message
    # Then body_text is not emptied
    assert msg.body_text == "> only a quote"
