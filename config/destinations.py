"""Typed destination settings: where routed tickets are handed off."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class WebhookDestination(BaseModel):
    """POST a signed JSON document to ``url``; the HMAC secret comes from ``secret_env``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["webhook"] = "webhook"
    name: str = ""
    url: HttpUrl
    secret_env: str
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=600.0, gt=0)


# One kind today; later kinds join a discriminated union on ``type``.
Destination = WebhookDestination
