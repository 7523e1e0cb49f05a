"""Web forms as declared under ``forms:`` in the rules file, and the default ``contact`` form.

A form names its fields (kind, label, required, maximum length), which fields
make the ticket's subject and body, which become tags or custom fields that rules
can match, the origins allowed to post it from other sites, whether its tickets
are acknowledged by mail, and an optional thank-you URL. Cross-field mistakes (a
subject naming no field, a form without an email field) are validation errors,
so ``omniroute rules check`` reports them with their line.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from config.rule_fields import Strict

FieldKind = Literal["text", "email", "textarea", "select", "checkbox", "file"]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Origin = Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+$", max_length=200)]

DEFAULT_MAX_LENGTH = {"text": 200, "email": 254, "textarea": 20_000, "select": 200}
CONTACT = "contact"
# The hidden inputs of every page: the signed form token and the honeypot.
RESERVED = frozenset({"form_token", "website"})


class FormField(Strict):
    """One input of a form."""

    name: FieldName
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: FieldKind = "text"
    required: bool = False
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    options: tuple[str, ...] = ()  # the choices of a select

    @property
    def limit(self) -> int:
        """The longest value accepted (characters)."""
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.kind, 200)

    @model_validator(mode="after")
    def _options_for_select(self) -> Self:
        if self.kind == "select" and not self.options:
            raise ValueError("a select field needs options")
        if self.kind != "select" and self.options:
            raise ValueError("only a select field has options")
        return self


class FormSpec(Strict):
    """One form: the ``{form}`` in ``/forms/{form}`` is its key under ``forms:``."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    fields: Annotated[tuple[FormField, ...], Field(min_length=1, max_length=50)]
    subject: FieldName | None = None
    body: tuple[FieldName, ...] = ()
    tags: tuple[FieldName, ...] = ()
    custom_fields: tuple[FieldName, ...] = ()
    allowed_origins: tuple[Origin, ...] = ()
    acknowledge: bool = True
    thank_you_url: Annotated[str, StringConstraints(pattern=r"^(https?://|/)\S+$")] | None = None

    @model_validator(mode="after")
    def _fields_exist(self) -> Self:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("field names must be unique")
        reserved = sorted(set(names) & RESERVED)
        if reserved:
            raise ValueError(f"{', '.join(reserved)}: reserved for the form's guards")
        if not any(f.kind == "email" for f in self.fields):
            raise ValueError("a form needs an email field (replies go to that address)")
        for key, named in (
            ("subject", (self.subject,) if self.subject else ()),
            ("body", self.body),
            ("tags", self.tags),
            ("custom_fields", self.custom_fields),
        ):
            unknown = [n for n in named if n not in names]
            if unknown:
                raise ValueError(f"{key} names unknown field(s): {', '.join(unknown)}")
        return self

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def email_field(self) -> str:
        return next(f.name for f in self.fields if f.kind == "email")

    @property
    def name_field(self) -> str | None:
        return "name" if self.field("name") is not None else None

    @property
    def body_fields(self) -> tuple[str, ...]:
        """The body's fields: as named, else every text area."""
        return self.body or tuple(f.name for f in self.fields if f.kind == "textarea")


def contact_form() -> FormSpec:
    """The form that exists with no configuration: name, email, subject, message, files."""
    return FormSpec(
        title="Contact us",
        fields=(
            FormField(name="name", label="Your name", max_length=200),
            FormField(name="email", label="Your email", kind="email", required=True),
            FormField(name="subject", label="Subject", required=True, max_length=200),
            FormField(name="message", label="Message", kind="textarea", required=True),
            FormField(name="attachments", label="Attachments", kind="file"),
        ),
        subject="subject",
        body=("message",),
    )


def forms_or_default(declared: dict[str, FormSpec]) -> dict[str, FormSpec]:
    """The declared forms, or the default ``contact`` form when none is declared."""
    return dict(declared) if declared else {CONTACT: contact_form()}
