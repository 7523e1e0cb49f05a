"""A form post's body, in any of the three encodings, as field values and files.

``application/x-www-form-urlencoded`` is split with the standard library as
Starlette's parser would (Latin-1 bytes, then ``%``-escapes as UTF-8);
``multipart/form-data`` is read with Starlette's parser (python-multipart); both from
the already bounded body. JSON is an object of field values, files as
``{"filename", "content_type", "data"}`` (base64).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

TOKEN_FIELD = "form_token"  # noqa: S105 (a field name, not a secret)
HONEYPOT_FIELD = "website"
MAX_FIELDS = 200
# Starlette's default per-part limit (1 MiB) would cut a long text area short of ours.
MAX_PART_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Decoded:
    """The post as fields and files; ``problem`` says why the body could not be read."""

    values: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    problem: str | None = None
    is_json: bool = False


async def decode_body(request: Request, raw: bytes, max_files: int) -> Decoded:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return _decode_json(raw)
    if content_type == "application/x-www-form-urlencoded":
        return _decode_urlencoded(raw)
    if content_type != "multipart/form-data":
        return Decoded(problem=f"unsupported content type {content_type or '(none)'}")
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    replayed = Request(request.scope, replay)
    decoded = Decoded()
    try:
        # One more file than allowed is read, so too many is reported, not cut silently.
        async with replayed.form(
            max_files=max_files + 1, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES
        ) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    if value.filename or data:
                        decoded.files.append(
                            UploadedFile(
                                name,
                                value.filename or "",
                                (value.content_type or "application/octet-stream").lower(),
                                data,
                            )
                        )
                else:
                    _add_value(decoded.values, name, value)
    except Exception as exc:  # python-multipart's errors share no base class
        return Decoded(problem=f"the form data could not be read: {exc}")
    return decoded


def _decode_urlencoded(raw: bytes) -> Decoded:
    # Scripts, curl and a site's own HTML forms post this way: no parser object, no
    # replayed request, one pass over the bytes.
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        return Decoded(problem=f"the form data could not be read: {exc}")
    decoded = Decoded()
    for name, value in pairs:
        _add_value(decoded.values, name, value)
    return decoded


def _add_value(values: dict[str, str], name: str, value: str) -> None:
    # A repeated field (several checkboxes of one name) keeps every value.
    values[name] = f"{values[name]}, {value}" if name in values and value else value


def _decode_json(raw: bytes) -> Decoded:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        return Decoded(problem=f"invalid JSON: {exc}", is_json=True)
    if not isinstance(document, dict):
        return Decoded(problem="the JSON body must be an object of fields", is_json=True)
    decoded = Decoded(is_json=True)
    for name, value in document.items():
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value, start=1):
                try:
                    data = base64.b64decode(str(item.get("data", "")), validate=True)
                except binascii.Error:
                    return Decoded(problem=f"{name}[{index}]: data is not base64", is_json=True)
                decoded.files.append(
                    UploadedFile(
                        name,
                        str(item.get("filename", "")),
                        str(item.get("content_type", "application/octet-stream")).lower(),
                        data,
                    )
                )
        elif isinstance(value, bool):
            decoded.values[name] = "on" if value else ""
        elif isinstance(value, str | int | float):
            decoded.values[name] = str(value)
        elif value is None:
            decoded.values[name] = ""
        else:
            return Decoded(problem=f"{name}: must be a string", is_json=True)
    return decoded
