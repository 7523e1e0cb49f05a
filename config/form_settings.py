"""Settings of the web-form edge, read from ``OMNIROUTE_FORM_*`` environment variables.

Kept apart from the process settings: only the web role reads them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_CONTENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
)


class FormSettings(BaseSettings):
    """Abuse guards, limits and follow-up links of the hosted forms."""

    model_config = SettingsConfigDict(env_prefix="OMNIROUTE_FORM_", extra="ignore", frozen=True)

    # The time trap: a post sooner than this after the page was served is a bot's.
    min_seconds: float = Field(default=3.0, ge=0)
    # A form token older than this is refused (the page must be loaded again).
    token_max_age_seconds: int = Field(default=24 * 3600, ge=60)
    max_body_bytes: int = Field(default=12 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    max_files: int = Field(default=5, ge=0)
    content_types: Annotated[tuple[str, ...], NoDecode] = DEFAULT_CONTENT_TYPES
    # Token buckets: a burst of ``*_burst`` posts, refilled at ``*_per_hour``. Per IP
    # they are generous, so an office behind one NAT address is not locked out.
    ip_per_hour: float = Field(default=120, gt=0)
    ip_burst: float = Field(default=30, ge=1)
    email_per_hour: float = Field(default=20, gt=0)
    email_burst: float = Field(default=10, ge=1)
    form_per_hour: float = Field(default=5000, gt=0)
    form_burst: float = Field(default=500, ge=1)
    # Addresses (or CIDR networks) of proxies whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    check_mx: bool = False
    follow_up_days: float = Field(default=30, gt=0)
    # The address the follow-up links point at, e.g. https://support.example.com.
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("content_types", "trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value
