"""Process settings read from ``OMNIROUTE_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.errors import ConfigError
from config.mailboxes import ImapMailbox
from config.twilio import (
    ACCOUNT_SID,
    TWILIO_API,
    TwilioAccount,
    TwilioCredentials,
    check_number,
    resolve_accounts,
)

ENV_PREFIX = "OMNIROUTE_"


class Settings(BaseSettings):
    """Everything a process needs to know, with safe defaults for one laptop."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Path(".omniroute")
    database_url: str | None = None
    broker_url: str | None = None
    broker_namespace: str = "omniroute"
    # Dramatiq's Redis defaults (60 s heartbeat, maintenance on 0.1 % of commands)
    # can leave a killed worker's message unacked for many minutes; these bring it
    # back in well under a minute.
    broker_heartbeat_timeout_ms: int = Field(default=15_000, ge=1_000)
    broker_maintenance_chance: int = Field(default=100_000, ge=1, le=1_000_000)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    # /metrics asks for a bearer token with the ``metrics`` scope (or ``admin``).
    metrics_require_token: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)
    smtp_max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    smtp_hostname: str = "omniroute.localhost"
    # Per client IP; 0 turns a bound off. Past them the edge answers 421 4.7.0.
    smtp_max_connections_per_client: int = Field(default=50, ge=0)
    smtp_max_messages_per_client_per_minute: int = Field(default=600, ge=0)
    # Messages waiting for the store's writer; past it the edge answers 421/451 "busy".
    smtp_max_pending_writes: int = Field(default=1000, ge=1)

    recipients: Annotated[tuple[str, ...], NoDecode] = ("support@example.com",)
    support_address: str | None = None
    support_name: str = "Support"

    outbound_smtp_url: str | None = None
    # Signs the references we send (Message-IDs, Reply-To); every process of one
    # deployment must share it. Unset on the embedded default, a key is generated
    # once under the data dir; a server database requires it (see ``signing_key``).
    signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "signing_secret", "OMNIROUTE_SIGNING_KEY", "OMNIROUTE_SECRET_KEY"
        ),
    )
    # Where attachments and stored outbound mail live: ``file:///shared/dir`` or
    # ``s3://bucket/prefix``. Unset, a directory under the data dir (one host only).
    blob_url: str | None = None
    # An S3-compatible endpoint (MinIO, Ceph, a test server); unset, boto3's own
    # resolution applies (``AWS_ENDPOINT_URL``, then AWS itself).
    blob_endpoint_url: str | None = None
    # A raw input (a mail, a form post) larger than this goes to the blob store
    # before its row commits; the row keeps the key and a head for listings.
    # Smaller input stays in the database, and pays no blob write.
    raw_blob_threshold_bytes: int = Field(default=64 * 1024, ge=1024)
    rules_file: Path | None = None

    worker_threads: int = Field(default=4, ge=1, le=64)
    # Records per ingest transaction: a worker that takes one from the broker also
    # takes up to this many minus one still waiting for the relay. Fewer commits and
    # broker hops, but on SQLite an edge's accept waits for the whole group.
    ingest_group_size: int = Field(default=1, ge=1, le=64)
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # The store, not the broker, is the truth: work handed to the broker and not done
    # this long after is handed over again (a broker restart lost it, a worker died).
    redeliver_after_seconds: float = Field(default=300, gt=0)
    # How often the scheduler looks for tickets past an SLA due date.
    sla_sweep_seconds: float = Field(default=60, gt=0, le=3600)
    # The scheduler retrains the category model from corrected tickets this often, and
    # promotes it only when it beats the model in force (`omniroute model list`).
    retrain: Literal["off", "daily", "weekly"] = "off"
    # Housekeeping (the scheduler, hourly; ``omniroute db prune``): done work and refused
    # form posts older than this many days are deleted; 0 keeps them for ever.
    keep_done_work_days: float = Field(default=30, ge=0)
    keep_refused_posts_days: float = Field(default=30, ge=0)
    automated_sends_per_hour: int = Field(default=3, ge=0)
    reopen_window_days: int = Field(default=14, ge=0)
    # A reply whose original is stored but not processed yet waits for it this long
    # (so two workers never split a thread), then threads as if alone.
    thread_wait_seconds: float = Field(default=60, ge=0)
    # Per channel, how many hours after its ticket was resolved a conversation key
    # (an SMS number pair) still threads onto it; a channel not named here (a Slack
    # thread) always does. JSON, e.g. {"sms": 72}.
    conversation_windows: dict[str, float] = Field(
        default_factory=lambda: {"sms": 72.0, "whatsapp": 24.0}
    )
    # Phone numbers written without a country code are read in this region.
    default_phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    # Channels whose new tickets get an acknowledgement (SMS costs money: off by default).
    acknowledge_channels: Annotated[tuple[str, ...], NoDecode] = ("email", "web", "slack")
    # A folder of acknowledgement templates overriding the shipped ones, by file name.
    templates_dir: Path | None = None
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    max_total_attachment_bytes: int = Field(default=25 * 1024 * 1024, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Mark console cookies Secure (served over HTTPS, directly or behind a proxy).
    console_secure_cookies: bool = False
    # ``text`` for people, ``json`` (one object per line) for a log pipeline.
    log_format: Literal["text", "json"] = "text"

    # JSON list of mailboxes (see ``ImapMailbox``); each is read by one lease holder.
    imap_mailboxes: tuple[ImapMailbox, ...] = ()
    imap_lease_seconds: float = Field(default=60, gt=0)

    # Twilio (SMS, MMS, WhatsApp): one account here, or several in ``twilio_accounts``
    # (a JSON list, see ``config.twilio.TwilioAccount``).
    twilio_account_sid: str | None = Field(default=None, pattern=ACCOUNT_SID)
    twilio_auth_token: SecretStr | None = None
    twilio_numbers: Annotated[tuple[str, ...], NoDecode] = ()
    twilio_accounts: tuple[TwilioAccount, ...] = ()
    # The REST base the client calls (a test points it at a fake); media on its host is
    # fetched with the account's credentials, like media on Twilio's own hosts.
    twilio_api_url: str = TWILIO_API
    # The base URL Twilio calls us at: the URL it signed is rebuilt from it.
    public_url: str | None = None
    # Peers (IPs or CIDRs) whose X-Forwarded-Proto/-Host are believed when no public URL is set.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # "report": log and count bad signatures but accept (a first deployment); "enforce": 403.
    twilio_signature_mode: Literal["enforce", "report"] = "enforce"

    # Slack as a customer channel (``POST /slack/events`` or the ``slack`` role's Socket Mode).
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Support conversations: every top-level message there opens a ticket. Comma-separated
    # channel ids, each optionally scoped to one workspace as ``TEAM:CHANNEL``.
    slack_support_channels: Annotated[tuple[str, ...], NoDecode] = ()
    # An @mention of the app opens a ticket in any channel it is in.
    slack_mentions: bool = True
    # This reaction on any message opens a ticket; empty turns reactions off.
    slack_ticket_reaction: str = "ticket"
    # Who may open a ticket with the reaction (user ids); empty: anyone of the own workspace.
    slack_reaction_users: Annotated[tuple[str, ...], NoDecode] = ()
    # Other apps' bots whose messages are taken in (bot ids); ours never are.
    slack_accept_bots: Annotated[tuple[str, ...], NoDecode] = ()
    # Email domains counted as the own organisation, besides the own workspace's members.
    slack_internal_domains: Annotated[tuple[str, ...], NoDecode] = ()
    # Channels (``[TEAM:]CHANNEL``) whose tickets get no in-thread acknowledgement.
    slack_quiet_channels: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("imap_mailboxes")
    @classmethod
    def _unique_mailbox_names(cls, value: tuple[ImapMailbox, ...]) -> tuple[ImapMailbox, ...]:
        names = [m.name for m in value]
        if len(names) != len(set(names)):
            raise ValueError("mailbox names must be unique")
        return value

    @field_validator(
        "twilio_numbers",
        "trusted_proxies",
        "slack_support_channels",
        "slack_reaction_users",
        "slack_accept_bots",
        "slack_internal_domains",
        "slack_quiet_channels",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("twilio_numbers")
    @classmethod
    def _check_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_number(n) for n in value)

    @field_validator("twilio_api_url", "public_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None

    @cached_property
    def twilio(self) -> tuple[TwilioCredentials, ...]:
        """The configured Twilio accounts with their tokens (empty: no Twilio webhooks)."""
        token = self.twilio_auth_token
        return resolve_accounts(
            self.twilio_account_sid,
            token.get_secret_value() if token is not None else None,
            self.twilio_numbers,
            self.twilio_accounts,
        )

    @field_validator("acknowledge_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("recipients", mode="before")
    @classmethod
    def _split_recipients(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            cleaned = tuple(str(v).strip().lower() for v in value)
            for address in cleaned:
                if address.count("@") != 1:
                    raise ValueError(f"not an email address: {address!r}")
            return cleaned
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        # ``debug`` and ``DEBUG`` mean the same to anyone setting an environment variable.
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("blob_url")
    @classmethod
    def _check_blob_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in {"file", "s3"}:
                raise ValueError("scheme must be file:/// or s3://")
            if parts.scheme == "s3" and not parts.netloc:
                raise ValueError("s3:// needs a bucket: s3://bucket/prefix")
            if parts.scheme == "file" and not parts.path.startswith("/"):
                raise ValueError("file:// needs an absolute path: file:///srv/omniroute/blobs")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """SQLite or PostgreSQL; a plain ``postgresql://`` or ``postgres://`` URL, as
        hosting providers give it, is read with the driver omniroute ships (psycopg).
        Empty means unset: the embedded SQLite file."""
        if not value:
            return None
        scheme, sep, rest = value.partition("://")
        if scheme in {"postgres", "postgresql"} and sep:
            return f"postgresql+psycopg://{rest}"
        if scheme.partition("+")[0] not in {"sqlite", "postgresql"}:
            raise ValueError(
                "omniroute stores in SQLite or PostgreSQL: sqlite:////path/omniroute.db "
                "or postgresql://user:password@host/database"
            )
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            scheme = urlsplit(value).scheme
            if scheme not in {"redis", "rediss", "unix", "amqp", "amqps"}:
                raise ValueError("scheme must be redis://, rediss://, unix:// or amqp://")
        return value

    @field_validator("outbound_smtp_url")
    @classmethod
    def _check_smtp_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"smtp", "smtps"}:
            raise ValueError("scheme must be smtp:// or smtps://")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'omniroute.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data directory, made if missing; ``ConfigError`` naming the setting when it
        cannot be."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"OMNIROUTE_DATA_DIR: cannot create {self.data_dir}: {exc.strerror or exc}"
            ) from None
        return self.data_dir

    @property
    def from_address(self) -> str:
        return self.support_address or self.recipients[0]

    @property
    def uses_server_database(self) -> bool:
        """True when the store is a database server that processes on several hosts share."""
        return not self.resolved_database_url.startswith("sqlite")

    @cached_property
    def signing_key(self) -> bytes:
        """The key for signed references: the setting, else one kept under the data dir.

        With a server database every process of the deployment must sign alike, and a
        key generated under one host's data dir would differ from the next host's, so
        there the setting is required.
        """
        if self.signing_secret is not None:
            return self.signing_secret.get_secret_value().encode()
        if self.uses_server_database:
            raise ConfigError(
                "OMNIROUTE_SIGNING_KEY is not set: with a server database every process "
                "(on every host) must share one signing key, or replies signed by one "
                "process would not thread in another; set it to a long random secret"
            )
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.ensure_data_dir()
            # Written aside, then linked in: two processes starting at once agree on one key.
            tmp = path.with_name(f".secret.key.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a bad value raises ``ConfigError`` naming the key."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{key}: {error['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
