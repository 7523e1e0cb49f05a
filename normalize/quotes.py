"""Separate what the sender just wrote from quoted history and signature in a plain-text reply.

One pass from the top finds where the quoted history starts, the first of:

* an attribution line, "On <date>, <name> wrote:" in any of the languages in
  ``normalize.quote_patterns`` (Gmail, Apple Mail, Thunderbird, Yahoo, Outlook
  mobile), also when the client wrapped it over two lines;
* an Outlook "-----Original Message-----" separator, localized;
* an Outlook "From: / Sent: / To: / Subject:" header block in any of Outlook's
  languages, together with the "______" rule Outlook web and mobile put above it.

Everything from there on is history. Then a trailing run of ``>``-quoted lines,
an RFC 3676 §4.3 "-- " signature and a "Sent from my iPhone"-style line at the
end are removed, and before all of it a mailing list's footer ("______" over
"<list> mailing list", "unsubscribe"...), which the sender never wrote.

An attribution followed by ``>`` lines that are answered in between is an
inline reply. Answered point by point (two answers or more), it keeps the
questions it answers, as the answers do not read alone. A single answer written
inside the quote keeps only itself: the attribution and the quoted lines go.
A forward ("---------- Forwarded message ---------" before any quote header)
keeps its forwarded text, which is what the sender means to send us.

Linear time: every line is classified once from its first
``quote_patterns.MAX_PROBE`` characters with plain string tests, and the few
look-aheads are bounded, so a megabyte of quoted history costs a few
milliseconds however it is shaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from normalize.quote_patterns import (
    COLONS,
    MAX_ATTRIBUTION,
    Label,
    Separator,
    header_label,
    is_attribution,
    is_device_signature,
    is_list_footer_line,
    is_rule,
    is_signature_separator,
    opens_attribution,
    probe,
    separator,
)

# An Outlook header block spans at most this many lines (wrapped To:/Cc: lists included).
_HEADER_BLOCK_LINES = 12
# A "Sent from my iPhone" line is only a signature among the last few lines.
_DEVICE_SIGNATURE_TAIL = 4
# A list footer is the last few lines: the rule above it is looked for only there.
_LIST_FOOTER_LINES = 8


@dataclass(frozen=True, slots=True)
class _Cut:
    """Where history starts; with ``answer`` set, the one inline answer kept from below it."""

    start: int
    answer: int | None = None


def strip_quotes(text: str) -> str:
    """What the sender just wrote in ``text``, without quoted history and signature.

    Line endings in the result are ``\\n``. When stripping would leave nothing
    (a bare forward, a message that is all quote) the whole ``text`` is
    returned unchanged.
    """
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _Lines(raw[: _list_footer_start(raw)])
    cut = lines.quote_start()
    if cut is None:
        kept = lines.raw
    elif cut.answer is not None:
        # Only the answer below the quote's head: what follows it is quote and sign-off.
        end = lines.before_trailing_quote(lines.before_signature(len(lines.raw)))
        head = _trim_blank_lines(lines.raw[: cut.start])
        answer = lines.raw[cut.answer : max(end, cut.answer)]
        kept = [head, "", *answer] if head else answer
    else:
        end = lines.before_trailing_quote(cut.start)
        # A signature below an inline reply may have a quoted sign-off above it.
        end = lines.before_trailing_quote(lines.before_signature(end))
        kept = lines.raw[:end]
    stripped = _trim_blank_lines(kept)
    return stripped if stripped.strip() else text


@dataclass(slots=True)
class _Lines:
    """The body's lines with, per line, its probe, ``>``-quoting and header label."""

    raw: list[str]
    probes: list[str]
    quoted: list[bool]
    labels: list[Label | None]

    def __init__(self, raw: list[str]) -> None:
        self.raw = raw
        self.probes = [probe(line) if line else "" for line in raw]
        self.quoted = [p[:1] == ">" for p in self.probes]
        self.labels = [
            header_label(p) if p and not q else None
            for p, q in zip(self.probes, self.quoted, strict=True)
        ]

    def next_text(self, index: int) -> int:
        """The first non-blank line at or after ``index``; len(raw) when there is none."""
        # Each call walks only blank lines up to the next non-blank one, and
        # callers start from distinct non-blank lines, so the walks stay linear.
        while index < len(self.raw) and not self.probes[index]:
            index += 1
        return index

    def next_unquoted(self, index: int) -> int:
        """The first non-blank, unquoted line at or after ``index``; len(raw) when there is none."""
        while index < len(self.raw) and (not self.probes[index] or self.quoted[index]):
            index += 1
        return index

    def quote_start(self) -> _Cut | None:
        """Where quoted history starts (len(raw) if nowhere); None for a forward."""
        point_by_point = False  # once answered point by point, later rounds are kept too
        for index, current in enumerate(self.probes):
            if not current or self.quoted[index]:
                continue
            kind = separator(current)
            if kind is Separator.ORIGINAL:
                return _Cut(index)
            if kind is Separator.FORWARD:
                return None
            if self.labels[index] is not None and self._is_header_block(index):
                return _Cut(self._rule_above(index))
            span = self._attribution_span(index)
            if not span:
                continue
            answers, first = self._inline_answers(index + span)
            if answers == 0:
                return _Cut(index)
            if answers == 1 and not point_by_point:
                return _Cut(index, answer=first)
            point_by_point = True
        return _Cut(len(self.raw))

    def _attribution_span(self, index: int) -> int:
        """1 or 2 when an attribution starts at ``index`` (2: wrapped onto the next line)."""
        current = self.probes[index]
        if current.endswith(COLONS):
            after = self._is_quoted(self.next_text(index + 1))
            return 1 if is_attribution(current, quote_follows=after) else 0
        following = self.probes[index + 1] if index + 1 < len(self.raw) else ""
        if (
            not following.endswith(COLONS)
            or self.quoted[index + 1]
            or len(current) + len(following) >= MAX_ATTRIBUTION
        ):
            return 0
        below = self._is_quoted(self.next_text(index + 2))
        joiner = "" if _is_wide(current[-1]) else " "
        if not is_attribution(current + joiner + following, quote_follows=below):
            return 0
        # "Thanks.\nOn ... wrote:": the attribution is the next line on its own,
        # unless this line is plainly its first half ("... Team <\nteam@x> ha scritto:").
        if current.endswith((".", "!", "?")) or (
            is_attribution(following, quote_follows=below) and not opens_attribution(current)
        ):
            return 0
        return 2

    def _inline_answers(self, after: int) -> tuple[int, int]:
        """How many answers (0, 1, or 2 meaning "two or more") the sender wrote between
        the quoted lines below an attribution, and where the first one starts."""
        index = self.next_text(after)
        if not self._is_quoted(index):
            return 0, index
        answers, first = 0, index
        while answers < 2:
            index = self.next_unquoted(index)
            if index >= len(self.raw) or not self._is_answer(index):
                break
            answers += 1
            if answers == 1:
                first = index
            while index < len(self.raw) and not self.quoted[index]:
                index += 1  # the rest of this answer, up to the next quoted line
        return answers, first

    def _is_answer(self, index: int) -> bool:
        current = self.probes[index]
        return not (
            is_signature_separator(current)
            or is_device_signature(current)
            or separator(current) is not None
            or self.labels[index] is not None
            or is_attribution(current, quote_follows=False)
        )

    def _is_header_block(self, start: int) -> bool:
        window = set(self.labels[start : start + _HEADER_BLOCK_LINES])
        if Label.DATE not in window or Label.FROM not in window:
            return False  # cheap rejection of "From:" lines with no block around them
        labels: set[Label] = set()
        blank_run = 0
        for index in range(start, min(start + _HEADER_BLOCK_LINES, len(self.raw))):
            current = self.probes[index]
            if self.quoted[index]:
                break
            if not current:
                blank_run += 1
                if blank_run == 2:
                    break
                continue
            blank_run = 0
            label = self.labels[index]
            if label is not None:
                labels.add(label)
        return {Label.FROM, Label.DATE} <= labels and bool({Label.TO, Label.SUBJECT} & labels)

    def _rule_above(self, index: int) -> int:
        above = index - 1
        while above >= 0 and index - above <= 3 and not self.probes[above]:
            above -= 1
        return above if above >= 0 and is_rule(self.probes[above]) else index

    def _is_quoted(self, index: int) -> bool:
        return index < len(self.raw) and self.quoted[index]

    def before_trailing_quote(self, end: int) -> int:
        """``end`` moved up past trailing blank and ``>``-quoted lines."""
        while end and (not self.probes[end - 1] or self.quoted[end - 1]):
            end -= 1
        return end

    def before_signature(self, end: int) -> int:
        """``end`` moved up to a "-- " separator or a "Sent from my iPhone" line at the end."""
        for index in range(end - 1, -1, -1):
            if is_signature_separator(self.probes[index]) and self.raw[index].startswith("--"):
                return index
        tail: list[int] = []
        index = end - 1
        while index >= 0 and len(tail) < _DEVICE_SIGNATURE_TAIL:
            if self.probes[index]:
                tail.append(index)
            index -= 1
        for index in reversed(tail):
            if is_device_signature(self.probes[index]):
                return index
        return end


def _list_footer_start(raw: list[str]) -> int:
    """Where a mailing list's footer starts at the end of ``raw``; len(raw) when there is none.

    The footer is a rule ("______") with a list manager's words below it, in the
    last ``_LIST_FOOTER_LINES`` non-blank lines.
    """
    tail: list[int] = []
    index = len(raw) - 1
    while index >= 0 and len(tail) < _LIST_FOOTER_LINES:
        if raw[index].strip():
            tail.append(index)
        index -= 1
    marked = False
    for index in tail:  # from the last line up
        current = probe(raw[index])
        if is_rule(current) and marked and not current.startswith(">"):
            return index
        marked = marked or is_list_footer_line(current)
    return len(raw)


def _is_wide(char: str) -> bool:
    # CJK text wraps without a space to restore.
    return char >= "\u2e80"


def _trim_blank_lines(lines: list[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])
