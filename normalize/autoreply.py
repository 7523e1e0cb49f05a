"""Name every signal that a message was sent by a machine, so nothing automated is answered.

Answering an auto-reply, a bounce or a list post is how mail loops start
(RFC 3834 §2, §5). Each signal found becomes a short reason string; an empty
result means the message looks like it came from a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_PRESENCE = (
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
)
_SYSTEM_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_MAX_VALUE_CHARS = 60


def auto_reasons(
    headers: Mapping[str, Sequence[str]],
    *,
    from_address: str | None,
    envelope_sender: str | None,
    content_type: str,
) -> tuple[str, ...]:
    """Reasons the message looks automated, in a stable order.

    ``headers`` maps lower-cased header names to their decoded values.
    """
    reasons: list[str] = []
    for value in headers.get("auto-submitted", ()):
        # RFC 3834 §5: "no" is the only value a person's mail carries; parameters may follow.
        keyword = _first_word(value)
        if keyword and keyword != "no":
            reasons.append(f"auto-submitted: {keyword}")
    for value in headers.get("precedence", ()):
        keyword = _first_word(value)
        if keyword in _PRECEDENCE:
            reasons.append(f"precedence: {keyword}")
    reasons.extend(name for name in _PRESENCE if name in headers)
    if any(not value.strip().strip("<>").strip() for value in headers.get("return-path", ())):
        reasons.append("empty return-path")
    if envelope_sender is not None and not envelope_sender.strip().strip("<>").strip():
        reasons.append("empty envelope sender")
    for source, address in (("from", from_address), ("envelope sender", envelope_sender)):
        local = _local_part(address)
        if local in _SYSTEM_LOCAL_PARTS:
            reasons.append(f"{source} is {local}")
    if content_type == "multipart/report":
        reasons.append("content-type: multipart/report")
    return tuple(dict.fromkeys(reasons))


def _first_word(value: str) -> str:
    word = value.split(";", 1)[0].strip().lower()
    return word[:_MAX_VALUE_CHARS]


def _local_part(address: str | None) -> str:
    if not address:
        return ""
    return address.strip().strip("<>").rpartition("@")[0].lower() or address.strip().lower()
