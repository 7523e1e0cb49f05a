"""Email normalization throughput, and reply stripping cost per megabyte.

What is compared
    (a) floor: the standard library's ``email.message_from_bytes(raw,
        policy=email.policy.default)`` followed by
        ``msg.get_body(("plain", "html")).get_content()``: parsing plus picking
        and decoding one body part, the least any parser pays.
    (b) omniroute: ``normalize.email.parse_email``, which also decodes every
        text part with charset repair, converts and sanitizes HTML, hashes and
        bounds attachments, parses addresses and dates, detects automated
        mail and strips quoted replies.

    Both run over the same in-memory corpus (~1000 messages: plain, UTF-8
    quoted-printable, multipart/alternative, HTML-only, attachments,
    undeclared Latin-1, ISO-2022-JP, KOI8-R, GB18030, Big5, and replies with
    quoted history), alternating which goes first each round. Printed:
    messages/second per round, the medians and the ratio b/a.

    Then ``normalize.quotes.strip_quotes`` on a ~1 MB quoted reply and on
    pathological ~1 MB inputs: best-of-rounds time, printed per MB.

Run from the repository root:
    .venv/bin/python bench/normalize_bench.py [--messages N] [--rounds R]
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from normalize.email import parse_email
from normalize.quotes import strip_quotes

MB = 1024 * 1024
PARAGRAPH = (
    "I ordered the blue model last week and the parcel arrived today, but the box was "
    "damaged and the left hinge is cracked. Could you send a replacement or refund me?"
)


@dataclass(frozen=True, slots=True)
class Options:
    messages: int
    rounds: int


def _headers(n: int, subject: str) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.org>\r\nTo: support@example.com\r\n"
        f"Subject: {subject}\r\nDate: Tue, 12 Mar 2024 10:15:{n % 60:02d} +0100\r\n"
        f"Message-ID: <bench-{n}@example.org>\r\nMIME-Version: 1.0\r\n"
    ).encode()


def _plain(n: int) -> bytes:
    body = f"Hello,\r\n\r\n{PARAGRAPH}\r\n\r\nOrder {n}\r\n"
    return _headers(n, "Broken hinge") + (
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.encode()
    )


def _alternative(n: int) -> bytes:
    msg = EmailMessage()
    msg.set_content(f"Hi,\n\n{PARAGRAPH} Total: 49 €\n")
    msg.add_alternative(
        f"<html><body><p>Hi,</p><p>{PARAGRAPH} <b>Total: 49 €</b></p>"
        '<ul><li>order</li><li><a href="https://x.example/o">status</a></li></ul></body></html>',
        subtype="html",
    )
    return _headers(n, "Charged twice") + msg.as_bytes(policy=email.policy.SMTP)


def _html_only(n: int) -> bytes:
    html = (
        f"<html><head><style>p{{color:red}}</style><script>x()</script></head><body>"
        f"<p onclick='y()'>{PARAGRAPH}</p><ol><li>one</li><li>two</li></ol>"
        f'<img src="https://tracker.example/p.gif"></body></html>'
    )
    return _headers(n, "HTML only") + (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )


def _attachments(n: int) -> bytes:
    msg = EmailMessage()
    msg.set_content(f"Receipt and photo attached.\n\n{PARAGRAPH}\n")
    msg.add_attachment(
        bytes(range(256)) * 80, maintype="image", subtype="jpeg", filename="hinge.jpg"
    )
    msg.add_attachment(b"%PDF-1.4 " * 2000, maintype="application", subtype="pdf", filename="r.pdf")
    return _headers(n, "Photo attached") + msg.as_bytes(policy=email.policy.SMTP)


def _charset(n: int, charset: str, text: str, declared: bool = True) -> bytes:
    content_type = f"text/plain; charset={charset}" if declared else "text/plain"
    return _headers(n, "Charset") + (
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode()
        + text.encode(charset)
        + b"\r\n"
    )


def _iso2022jp(n: int) -> bytes:
    body = base64.encodebytes("注文の件で連絡しました。箱が壊れていました。".encode("iso-2022-jp"))
    return _headers(n, "Order") + (
        b"Content-Type: text/plain; charset=iso-2022-jp\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body
    )


def _reply(n: int) -> bytes:
    quote = "".join(f"> {PARAGRAPH[:70]}\r\n" for _ in range(40))
    body = (
        f"It is still broken.\r\n\r\n-- \r\nCustomer {n}\r\n\r\n"
        f"On Tue, Mar 12, 2024 at 10:15 AM Support <support@example.com> wrote:\r\n{quote}"
    )
    return _headers(n, "Re: Broken hinge") + (
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.encode()
    )


def _outlook_reply(n: int) -> bytes:
    body = (
        f"Danke, das hat geholfen.\r\n\r\nVon: Support <support@example.com>\r\n"
        f"Gesendet: Dienstag, 12. März 2024 10:15\r\nAn: Kunde {n}\r\nBetreff: AW: Rechnung\r\n"
        f"\r\n{PARAGRAPH}\r\n" * 3
    )
    return _headers(n, "AW: Rechnung") + (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.encode()
    )


MAKERS: tuple[Callable[[int], bytes], ...] = (
    _plain,
    _alternative,
    _html_only,
    _attachments,
    lambda n: _charset(n, "latin-1", "Le café était froid, à Noël.", declared=False),
    lambda n: _charset(n, "koi8-r", "Заказ не пришёл, трек-номер не обновляется."),
    lambda n: _charset(n, "gb18030", "我的发票抬头还是错误的。请帮忙重新开具。"),
    lambda n: _charset(n, "big5", "我的發票抬頭還是錯誤的。"),
    _iso2022jp,
    _reply,
    _outlook_reply,
)


def corpus(size: int) -> list[bytes]:
    return [MAKERS[n % len(MAKERS)](n) for n in range(size)]


def stdlib_floor(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(("plain", "html"))  # type: ignore[attr-defined]
    return part.get_content() if part is not None else ""


def omniroute(raw: bytes) -> str:
    return parse_email(raw).message.body_text


def rate(function: Callable[[bytes], str], messages: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in messages:
        function(raw)
    return len(messages) / (time.perf_counter() - start)


def throughput(options: Options) -> None:
    messages = corpus(options.messages)
    megabytes = sum(map(len, messages)) / MB
    print(f"corpus: {len(messages)} messages, {megabytes:.2f} MB, {len(MAKERS)} shapes")
    for raw in messages:  # every message must parse on both sides before timing
        stdlib_floor(raw)
        omniroute(raw)
    floors: list[float] = []
    ours: list[float] = []
    for round_number in range(options.rounds):
        sides = [("floor", stdlib_floor, floors), ("omniroute", omniroute, ours)]
        if round_number % 2:
            sides.reverse()
        for _, function, results in sides:
            results.append(rate(function, messages))
        line = f"  round {round_number + 1}: floor {floors[-1]:8.0f} msg/s"
        print(f"{line}   omniroute {ours[-1]:8.0f} msg/s")
    floor, mine = statistics.median(floors), statistics.median(ours)
    print(f"median: stdlib floor {floor:.0f} msg/s, omniroute parse_email {mine:.0f} msg/s")
    print(f"ratio omniroute/floor: {mine / floor:.2f}")


def stripping_inputs() -> dict[str, tuple[str, str]]:
    """Name -> (text, expected new text)."""
    quote_line = "> lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\n"
    quoted = "Thanks\n\nOn Tue, Mar 12, 2024 at 10:15 AM A <a@x.example> wrote:\n"
    quoted += quote_line * (MB // len(quote_line))
    outlook = "Danke.\n\nVon: A\nGesendet: Di\nAn: B\nBetreff: C\n\n" + "lorem ipsum " * (MB // 12)
    pairs = "From: a\nTo: b\n" * (MB // 14)
    rounds = "On 1, a wrote:\n> q\nanswer\n" * (MB // 26)
    return {
        "1 MB Gmail-style quoted reply": (quoted, "Thanks"),
        "1 MB Outlook-style unquoted history": (outlook, "Danke."),
        "1 MB line of spaces": (" " * MB, " " * MB),
        "1 MB line of '>'": (">" * MB, ">" * MB),
        "128k lines of '>'": (">\n" * (MB // 2), ">\n" * (MB // 2)),
        "1 MB of 'On ' repeated": ("On " * (MB // 3), "On " * (MB // 3)),
        "1 MB of attribution lines": ("Hi\n" + "On 1, a wrote:\n" * (MB // 15), "Hi"),
        "1 MB of 'From:'/'To:' pairs": (pairs, pairs.rstrip("\n")),
        "1 MB of inline reply rounds": (rounds, rounds.rstrip("\n")),
        "1M carriage returns": ("\r" * MB, "\r" * MB),
    }


def stripping(options: Options) -> None:
    print("strip_quotes, best of rounds:")
    for name, (text, expected) in stripping_inputs().items():
        result = strip_quotes(text)
        if result != expected:
            raise SystemExit(f"wrong result for {name!r}")
        best = float("inf")
        for _ in range(max(options.rounds, 3)):
            start = time.perf_counter()
            strip_quotes(text)
            best = min(best, time.perf_counter() - start)
        size = len(text.encode()) / MB
        print(f"  {name:38s} {size:5.2f} MB  {best * 1000 / size:8.1f} ms/MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    options = Options(messages=args.messages, rounds=args.rounds)
    print(f"python {sys.version.split()[0]}, os.cpu_count() = {os.cpu_count()}")
    throughput(options)
    stripping(options)


if __name__ == "__main__":
    main()
