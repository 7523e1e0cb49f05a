"""Specification of ``strip_quotes``: which lines are the sender's; hostile input handled."""

from __future__ import annotations

import pytest

from normalize.quotes import strip_quotes

MB = 1024 * 1024
ATTRIBUTION = "On Tue, Mar 12, 2024 at 10:15 AM Acme Support <support@acme.example> wrote:"


def test_attribution_line_after_a_sentence_cuts_at_the_attribution() -> None:
    # Given a sentence directly above an attribution line
    text = f"Thanks for the quick answer.\n{ATTRIBUTION}\n> Hello"
    # When stripped
    # Then the sentence stays and the attribution goes
    assert strip_quotes(text) == "Thanks for the quick answer."


def test_attribution_without_date_address_or_quote_is_the_senders_text() -> None:
    # Given "wrote:" introducing pasted, unquoted text
    text = "Hi,\nMy colleague wrote:\nThe printer is broken.\nPlease help."
    # When stripped
    # Then nothing is removed
    assert strip_quotes(text) == text


def test_bare_attribution_followed_by_quote_is_cut() -> None:
    # Given an old-style "<name> wrote:" with no date, followed by quoted lines
    text = "Yes, please.\n\nAcme Support wrote:\n> Shall we replace it?"
    # When stripped
    # Then the attribution and quote are gone
    assert strip_quotes(text) == "Yes, please."


def test_header_lines_without_a_full_block_are_kept() -> None:
    # Given From: and Subject: lines but no Sent:/Date:
    text = "Here is what I got:\nFrom: shop\nSubject: your order\n\nIt is wrong."
    # When stripped
    # Then they are read as the sender's text
    assert strip_quotes(text) == text


def test_sentence_starting_like_a_device_signature_is_kept() -> None:
    # Given a last line that starts with "Sent from" but names no device or app
    text = "Hi,\nthe parcel is late.\nSent from the warehouse on Monday."
    # When stripped
    # Then it is kept
    assert strip_quotes(text) == text


def test_quoted_attribution_is_part_of_the_trailing_quote() -> None:
    # Given iOS Mail's reply, whose attribution is itself quoted
    text = "Done.\n\nSent from my iPad\n\n> On 12 Mar 2024, at 10:15, A <a@x.example> wrote:\n> Hi"
    # When stripped
    # Then new text only
    assert strip_quotes(text) == "Done."


def test_forward_keeps_forwarded_content() -> None:
    # Given a forward whose forwarded part has a full From/Date/Subject/To block
    text = (
        "See below.\n\n---------- Forwarded message ---------\nFrom: Shop <s@x.example>\n"
        "Date: Tue, Mar 12, 2024 at 10:15 AM\nSubject: Order\nTo: <me@x.example>\n\nTotal: 9"
    )
    # When stripped
    # Then the forwarded text is kept as the sender's
    assert strip_quotes(text) == text


def test_crlf_and_lone_cr_line_endings_become_newlines() -> None:
    # Given CRLF and old Mac CR line endings
    text = "Hello\r\nagain\rthere\r\n\r\nOn 12/03/2024 10:15, A wrote:\r\n> x\r\n"
    # When stripped
    # Then lines are joined with \n
    assert strip_quotes(text) == "Hello\nagain\nthere"


def test_signature_separator_without_trailing_space_cuts() -> None:
    # Given "--" (trailing space lost in transit) above a signature
    text = "It works now.\n--\nMia\n+49 30 1234567"
    # When stripped
    # Then the signature is gone
    assert strip_quotes(text) == "It works now."


def test_text_that_is_all_signature_keeps_everything() -> None:
    # Given a body that starts with the signature separator
    text = "-- \nMia Example\nOffice manager"
    # When stripped
    # Then stripping would leave nothing, so the text is unchanged
    assert strip_quotes(text) == text


def test_outlook_header_block_with_wrapped_recipients_is_cut_at_the_rule_above() -> None:
    # Given an underscore rule above a block whose Cc: list wraps
    text = (
        "Fine by me.\n\n________________________________\nFrom: A <a@x.example>\n"
        "Sent: Tuesday, March 12, 2024 10:15 AM\nCc: b@x.example; c@x.example;\n"
        "d@x.example\nTo: Me\nSubject: RE: Plan\n\nShall we?"
    )
    # When stripped
    # Then the rule and everything below are gone
    assert strip_quotes(text) == "Fine by me."


def test_full_width_colon_labels_are_recognized() -> None:
    # Given a CJK header block written with full-width colons
    header = {"发件人": "A <a@x.example>", "发送时间": "2024年3月12日"}
    header |= {"收件人": "我", "主题": "计划"}
    text = "好的。\n\n" + "\n".join(f"{label}\uff1a{value}" for label, value in header.items())
    # When stripped
    # Then only the answer remains
    assert strip_quotes(text) == "好的。"


# Hostile inputs: each must come back correct; the suite's timeout bounds the time.
PATHOLOGICAL = {
    "one 1 MB line of spaces": (" " * MB, " " * MB),
    "one 1 MB line of '>'": (">" * MB, ">" * MB),
    "new text above a 1 MB line of '>'": ("Hello\n" + ">" * MB, "Hello"),
    "100k lines of '>'": (">\n" * 100_000, ">\n" * 100_000),
    "new text above 100k lines of '>'": ("Hi\n" + ">\n" * 100_000, "Hi"),
    "a 1 MB line of 'On ' repeated": ("On " * (MB // 3), "On " * (MB // 3)),
    "'On ' repeated, ending in wrote:": (
        "On " * (MB // 3) + "wrote:",
        "On " * (MB // 3) + "wrote:",
    ),
    "100k attribution lines": ("Hi\n" + "On 1, a wrote:\n" * 100_000, "Hi"),
    "70k 'From:'/'To:' pairs": ("From: a\nTo: b\n" * 70_000, ("From: a\nTo: b\n" * 70_000)[:-1]),
    "a 1 MB line of dashes": ("-" * MB, "-" * MB),
    "1M carriage returns": ("\r" * MB, "\r" * MB),
    "a 1 MB line of no-break spaces": ("\u00a0" * MB, "\u00a0" * MB),
    "a 1 MB line ending in a colon": ("x" * MB + ":", "x" * MB + ":"),
    "deeply nested quote": ("Ok\n" + (">" * 10_000 + " x\n") * 50, "Ok"),
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_hostile_input_is_stripped_correctly(name: str) -> None:
    # Given input shaped to defeat a backtracking or quadratic stripper
    text, expected = PATHOLOGICAL[name]
    # When stripped
    # Then the result is what the rules say (no timing assertion: the suite timeout bounds it)
    assert strip_quotes(text) == expected


def test_inline_answers_repeated_many_times_are_all_kept() -> None:
    # Given 40k inline question/answer rounds, each under its own attribution
    text = "On 1, a wrote:\n> q\nanswer\n" * 40_000
    # When stripped
    # Then every answer and the questions they answer are kept
    assert strip_quotes(text) == text.rstrip("\n")


def test_one_megabyte_quoted_history_is_cut_after_the_new_text() -> None:
    # Given a short answer above about 1 MB of quoted history
    quote = "> lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n" * 14_000
    text = f"Thanks\n\n{ATTRIBUTION}\n{quote}"
    # When stripped
    # Then only the answer remains
    assert strip_quotes(text) == "Thanks"
