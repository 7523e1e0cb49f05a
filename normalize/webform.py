"""The web channel's parser: one stored form submission → ``ParsedInput``.

The edge stores the submission as JSON (``{"form", "values", "files"}``, file bytes
in base64) and, in the envelope, the form's layout: which field is the sender's
email and name, which make the subject and body, which become tags and custom
fields, the tags those give, and the conversation key. The sender is a ``web`` party with the typed
email (unverified: anyone can type any address), and also claims that email.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from normalize.attachments import mime_type, safe_filename
from normalize.errors import Unparseable
from normalize.storable import storable
from normalize.types import (
    AttachmentInfo,
    InboundMessage,
    ParseContext,
    ParsedInput,
    Party,
    PartyKind,
)

CHANNEL = "web"
_TAG = re.compile(r"[^a-z0-9]+")


def parse_webform(raw: bytes, envelope: Mapping[str, Any], context: ParseContext) -> ParsedInput:
    """A submission of a hosted form (or a follow-up from the ticket's page)."""
    try:
        document = json.loads(raw)
        values = {storable(str(k)): storable(str(v)) for k, v in document["values"].items()}
        files: list[dict[str, str]] = list(document.get("files", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unparseable(f"not a form submission: {exc}") from None
    email = values.get(str(envelope.get("email_field", "email")), "").strip().lower()
    if "@" not in email:
        raise Unparseable("the submission has no email address")
    name_field = envelope.get("name_field")
    name = values.get(str(name_field), "").strip() if name_field else ""
    labels: Mapping[str, str] = envelope.get("labels", {})
    subject = str(envelope.get("subject") or "")
    if not subject and envelope.get("subject_field"):
        subject = values.get(str(envelope["subject_field"]), "").strip()
    body_fields = [str(f) for f in envelope.get("body_fields", [])]
    body = "\n\n".join(values[f].strip() for f in body_fields if values.get(f, "").strip())
    shown = {*body_fields, envelope.get("email_field"), name_field, envelope.get("subject_field")}
    # The other fields follow as "Label: value" lines, so keyword and regex rules on
    # the body can match them (``custom_fields`` are also the message's ``fields``).
    extra = [
        f"{labels.get(k, k)}: {'yes' if v == 'on' else v.strip()}"
        for k, v in values.items()
        if k not in shown and v.strip()
    ]
    text = "\n\n".join(part for part in (body, "\n".join(extra)) if part)
    if not subject:
        first = body.strip().splitlines()[0] if body.strip() else "Web form"
        subject = first[:80]
    attachments, payloads = _attachments(files, context)
    party = Party(PartyKind.WEB, email, name)
    return ParsedInput(
        InboundMessage(
            channel=CHANNEL,
            external_id=str(envelope.get("submission_id", "")),
            sender=party,
            subject=subject[:1000],
            body_text=text,
            body_full=text,
            attachments=attachments,
            conversation_key=envelope.get("conversation_key"),
            opens_conversation=bool(envelope.get("opens_conversation")),
            also_known_as=(Party(PartyKind.EMAIL, email, name),),
            tags=tuple(str(tag) for tag in envelope.get("tags", [])),
            fields=tuple(
                (str(f), values[str(f)].strip())
                for f in envelope.get("custom_fields", [])
                if values.get(str(f), "").strip()
            ),
        ),
        payloads,
    )


def form_tags(values: Mapping[str, str], fields: tuple[str, ...]) -> list[str]:
    """The tags a submission's ``tags:`` fields give: a checked checkbox tags its name,
    any other field tags its value, slugged (``Billing question`` → ``billing-question``)."""
    tags: list[str] = []
    for field in fields:
        value = values.get(field, "").strip().lower()
        if not value:
            continue
        tag = field if value in {"on", "true", "yes", "1"} else _TAG.sub("-", value).strip("-")
        if tag and tag not in tags:
            tags.append(tag[:64])
    return tags


def _attachments(
    files: list[dict[str, str]], context: ParseContext
) -> tuple[tuple[AttachmentInfo, ...], dict[str, bytes]]:
    infos: list[AttachmentInfo] = []
    payloads: dict[str, bytes] = {}
    used = 0
    for index, item in enumerate(files, start=1):
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (KeyError, TypeError, binascii.Error) as exc:
            raise Unparseable(f"file {index} is not valid base64: {exc}") from None
        digest = hashlib.sha256(data).hexdigest()
        refused: str | None = None
        if len(data) > context.max_attachment_bytes:
            refused = f"attachment exceeds {context.max_attachment_bytes} bytes"
        elif used + len(data) > context.max_total_attachment_bytes:
            refused = f"attachments exceed {context.max_total_attachment_bytes} bytes in total"
        else:
            used += len(data)
            payloads[digest] = data
        infos.append(
            AttachmentInfo(
                filename=safe_filename(item.get("filename")) or f"attachment-{index}",
                content_type=mime_type(str(item.get("content_type", ""))),
                size=len(data),
                sha256=digest,
                refused_reason=refused,
            )
        )
    return tuple(infos), payloads
