"""Turn bytes of a declared (or undeclared, or wrongly declared) charset into text, never raising.

Mail lies about its charset often enough that decoding is a chain of guesses:
the declared charset (through the aliases mail clients actually use), then
strict UTF-8, then charset_normalizer's best guess, then windows-1252 with
replacement characters. Every step past the declared charset is reported as a
warning so the repair is visible (RFC 6657 §3 leaves undeclared 8-bit text, and
text in a charset the receiver does not know, to the receiver's judgement;
RFC 2045 §5.2's us-ascii default cannot be right for 8-bit bytes).

On short Western European text the guesser cannot tell the single-byte code
pages apart ("naïve" reads as cp1250 "naďve" as well), so windows-1252, the
most common of them in mail, wins when its reading is plausible Western
European text (see ``_reads_as_western``).
"""

from __future__ import annotations

import codecs

# Labels seen in mail mapped to the codec that decodes what senders really
# meant: the WHATWG Encoding Standard maps latin-1 and ascii labels to
# windows-1252, and the Microsoft supersets of the East Asian charsets decode
# the vendor characters common in mail from Outlook.
_ALIASES: dict[str, str] = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_2",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

# Labels that say "I don't know" (RFC 1428 "unknown-8bit", Python's own
# "unknown-8bit" for raw header bytes) are treated as undeclared.
_UNKNOWN = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "default", "charset"})

# charset_normalizer's run time grows with input size; a prefix is enough to guess.
_GUESS_PREFIX_BYTES = 64 * 1024
# Candidates limited to charsets seen in mail: on short texts charset_normalizer
# otherwise favours DOS and Mac code pages that no mail client sends.
_GUESS_CANDIDATES = [
    "utf_8",
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "iso8859_2",
    "iso8859_5",
    "iso8859_7",
    "koi8_r",
    "koi8_u",
    "cp874",
    "cp932",
    "euc_jp",
    "gb18030",
    "big5",
    "cp949",
]
# ISO-2022-JP is 7-bit; its escape sequences (RFC 1468) identify it when undeclared.
_ISO_2022_JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J")


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a charset label, or ``None`` when it is unknown or not text."""
    if label is None:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _UNKNOWN:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # bytes-to-bytes codecs (base64, zlib, rot13...) are not charsets.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``data``; returns the text and a warning naming the fallback used, if any."""
    codec = codec_for(declared)
    label = (declared or "").strip().strip("\"'")
    if codec is not None:
        try:
            return data.decode(codec), None
        except (UnicodeError, LookupError, ValueError):
            problem = f"charset {declared!r} did not decode"
    else:
        undeclared = not label or label.lower() == "charset"
        if data.isascii():
            if any(escape in data for escape in _ISO_2022_JP_ESCAPES):
                try:
                    what = "no charset declared" if undeclared else f"unknown charset {label!r}"
                    return data.decode("iso2022_jp_2"), f"{what}; decoded as iso-2022-jp"
                except UnicodeDecodeError:
                    pass
            return data.decode("ascii"), None  # ASCII reads the same in every mail charset
        if undeclared:
            problem = "no charset declared for 8-bit text"
        else:
            problem = f"unknown charset {label!r} declared (RFC 6657 fallback)"

    if codec != "utf-8":
        try:
            return data.decode("utf-8"), f"{problem}; decoded as utf-8"
        except UnicodeDecodeError:
            pass

    guessed = _guess(data)
    if guessed is not None:
        text, encoding = guessed
        return text, f"{problem}; guessed {encoding}"

    return data.decode("cp1252", errors="replace"), f"{problem}; decoded as windows-1252"


def _guess(data: bytes) -> tuple[str, str] | None:
    # Imported here: only mail that declares no charset, or a wrong one, needs the
    # guesser, and it costs every ingesting process about 3 MiB.
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(data[:_GUESS_PREFIX_BYTES], cp_isolation=_GUESS_CANDIDATES).best()
    except Exception:  # a guesser bug must not lose the message
        return None
    if best is None:
        return None
    codec = codec_for(best.encoding)
    if codec is None:
        return None
    try:
        text = data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        # The guess was made on a prefix; the whole may not decode.
        return None
    if codec != "cp1252":
        try:
            western = data.decode("cp1252")
        except UnicodeDecodeError:
            return text, codec
        # Single-byte code pages agree on most letters; the common one wins a tie.
        if western == text or _reads_as_western(western):
            return western, "cp1252"
    return text, codec


# Letters of the Western European languages written in windows-1252 (French,
# German, Spanish, Portuguese, Italian, Dutch, Catalan, the Nordic languages),
# with the punctuation mail clients put in (typographic quotes, dashes, euro).
# Icelandic's ð, ý, þ are left out: they are what other code pages' letters
# become when misread as windows-1252 (Turkish ğ and ş, Czech ý is the same byte).
_WESTERN = frozenset(
    "àâäæçéèêëîïôœùûüÿáíóúñãõìòåøÀÂÄÆÇÉÈÊËÎÏÔŒÙÛÜŸÁÍÓÚÑÃÕÌÒÅØß¿¡«»“”„…•€£§°©®·"
    "\u00a0\u2018\u2019\u201a\u2013\u2014"  # no-break space, single quotes, en and em dash
)


def _reads_as_western(text: str) -> bool:
    """Whether ``text`` reads as Western European: few non-ASCII letters, all of them
    Western ones, and no capital one inside a lower-case word (Greek or Cyrillic
    misread as windows-1252 gives "Êáëçì")."""
    letters = foreign = 0
    previous = ""
    for char in text:
        if char.isalpha():
            letters += 1
            if not char.isascii():
                foreign += 1
                if char.isupper() and previous.islower():
                    return False
        if not char.isascii() and char not in _WESTERN:
            return False
        previous = char
    return foreign * 2 <= letters
