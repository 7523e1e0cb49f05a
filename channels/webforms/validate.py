"""Check a post's values and files against its form: every problem, by field.

Lengths are capped per field, emails are checked with ``email-validator`` (MX
lookups only when configured), files by count, size and content type. Nothing is
dropped quietly: a refused file is an error the customer sees next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from channels.webforms.decode import Decoded, UploadedFile
from config.form_settings import FormSettings
from config.forms import FormSpec


@dataclass(slots=True)
class Checked:
    """The cleaned values and accepted files, or ``errors`` by field name."""

    values: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def check_submission(form: FormSpec, decoded: Decoded, limits: FormSettings) -> Checked:
    checked = Checked()
    for spec in form.fields:
        if spec.kind == "file":
            continue
        value = decoded.values.get(spec.name, "").replace("\r\n", "\n").strip()
        if spec.kind == "checkbox":
            value = "on" if value.lower() in {"on", "true", "yes", "1"} else ""
        if not value:
            if spec.required:
                checked.errors[spec.name] = f"{spec.label} is required."
            continue
        if len(value) > spec.limit:
            checked.errors[spec.name] = (
                f"{spec.label} is too long ({len(value)} of at most {spec.limit} characters)."
            )
            continue
        if spec.kind == "email":
            if limits.check_mx:
                # A DNS answer may change: looked up every time.
                normalized, problem = _checked_email(value, check_mx=True)
            else:
                normalized, problem = _syntax_checked_email(value)
            if problem is not None:
                checked.errors[spec.name] = f"{spec.label}: {problem}"
                continue
            value = normalized
        if spec.kind == "select" and value not in spec.options:
            checked.errors[spec.name] = f"{spec.label}: choose one of the options."
            continue
        checked.values[spec.name] = value
    _check_files(form, decoded.files, limits, checked)
    return checked


def _checked_email(value: str, *, check_mx: bool) -> tuple[str, str | None]:
    """The normalized address, or the reason it is not one."""
    try:
        return validate_email(value, check_deliverability=check_mx).normalized, None
    except EmailNotValidError as exc:
        return value, str(exc)


@lru_cache(maxsize=4096)
def _syntax_checked_email(value: str) -> tuple[str, str | None]:
    # The syntax check is a pure function and the same customers post again.
    return _checked_email(value, check_mx=False)


def _check_files(
    form: FormSpec, files: list[UploadedFile], limits: FormSettings, checked: Checked
) -> None:
    file_fields = {f.name: f for f in form.fields if f.kind == "file"}
    problems: dict[str, list[str]] = {}
    count = 0
    for upload in files:
        spec = file_fields.get(upload.field)
        if spec is None:
            problems.setdefault(upload.field, []).append("this form takes no files here")
            continue
        count += 1
        name = upload.filename or "a file"
        if count > limits.max_files:
            problems.setdefault(spec.name, []).append(
                f"{name}: at most {limits.max_files} files can be attached"
            )
        elif len(upload.data) > limits.max_file_bytes:
            problems.setdefault(spec.name, []).append(
                f"{name} is larger than {_size(limits.max_file_bytes)}"
            )
        elif upload.content_type not in limits.content_types:
            problems.setdefault(spec.name, []).append(
                f"{name}: files of type {upload.content_type} are not accepted"
            )
        else:
            checked.files.append(upload)
    for name, spec in file_fields.items():
        if spec.required and not any(u.field == name for u in checked.files):
            problems.setdefault(name, []).insert(0, f"{spec.label} is required")
    for name, found in problems.items():
        checked.errors[name] = "; ".join(found) + "."


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
