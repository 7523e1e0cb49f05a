"""Complete a parsed Slack event from Slack's Web API, in the ingest worker.

The parser sees only the event. This reads what it names (``auth.test`` for who our
bot is, ``users.info`` for the sender's name, workspace and profile email,
``conversations.info`` for a Slack Connect channel, ``conversations.history`` for
the message behind a ticket reaction, ``files.info`` and the file itself) and
returns the message completed:

- our own bot's posts become noise; an @mention of our bot is marked;
- a person of the own workspace (or of ``OMNIROUTE_SLACK_INTERNAL_DOMAINS``) who
  answers in a ticket's thread writes as an agent; their top-level messages in a
  shared (Slack Connect) channel are colleagues talking, not tickets;
- the profile email is a verified identity only for the own workspace's users (a
  partner's admin controls their users' emails), otherwise an unverified claim;
- files are downloaded with the bot token under the attachment limits; Slack's
  sign-in page, returned with a 200 when the ``files:read`` scope is missing, is a
  refused attachment with that reason.

A rate limit or an unreachable API raises ``SourceUnavailable`` (the ingest is
retried); anything Slack refuses for good leaves the message as the event said.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.slack_api import error_code, is_transient, web_client
from config.settings import Settings
from ingest.errors import SourceUnavailable
from ingest.identity import identity_row, owner
from ingest.models import InboundRecord, Message, Ticket
from ingest.slack_steps import ignore_reason
from normalize.attachments import AttachmentBudget, safe_filename
from normalize.slack import MESSAGE, NOISE, REACTION, fields_of, plain_text
from normalize.types import (
    AttachmentInfo,
    AuthorRole,
    InboundMessage,
    ParsedInput,
    Party,
    PartyKind,
)

log = logging.getLogger(__name__)

_OCTETS = "application/octet-stream"
SIGN_IN_PAGE = "Slack returned its sign-in page instead of the file (is files:read granted?)"


@dataclass(frozen=True, slots=True)
class Bot:
    user_id: str
    bot_id: str
    team_id: str


@dataclass(frozen=True, slots=True)
class Profile:
    user: str
    team: str
    name: str
    email: str
    is_bot: bool


class SlackEnricher:
    """The ``slack`` enricher of :mod:`ingest.channel_steps`, with this process's caches."""

    def __init__(self, settings: Settings, client: WebClient | None = None) -> None:
        self.client = client or web_client(settings)
        self._bot: Bot | None = None
        self._shared: dict[str, bool] = {}

    def enrich(
        self, session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
    ) -> ParsedInput:
        msg = parsed.message
        fields = fields_of(msg)
        if self.client.token is None or fields.get("slack.kind") not in {MESSAGE, REACTION}:
            return parsed
        with _classified():
            return self._complete(session, parsed, fields, settings)

    def _complete(
        self, session: Session, parsed: ParsedInput, fields: dict[str, str], settings: Settings
    ) -> ParsedInput:
        bot = self.bot()
        user = fields.get("slack.user", "") or parsed.message.sender.value.split(":", 1)[-1]
        if user == bot.user_id or fields.get("slack.bot") == bot.bot_id:
            return _with(parsed, {"slack.kind": NOISE, "slack.noise": "our own post"})
        if bot.user_id and f"<@{bot.user_id}>" in parsed.message.body_full:
            fields["slack.mention"] = "yes"
        msg = replace(parsed.message, fields=tuple(fields.items()))
        if ignore_reason(session, msg, settings) is not None:
            return ParsedInput(msg, parsed.payloads)
        if fields.get("slack.kind") == REACTION:
            refused = self._reaction(fields, settings)
            if refused is not None:
                return _with(parsed, {**fields, "slack.skip": refused})
            msg = self._reacted_message(msg, fields)
            fields = fields_of(msg)
        profile = self.profile(fields.get("slack.user") or msg.sender.value.split(":", 1)[-1])
        internal = profile is not None and self._internal(profile, bot, settings)
        sender, claims = _identities(msg.sender, profile, bot)
        role = AuthorRole.CUSTOMER
        skip = ""
        in_thread = fields.get("slack.thread_ts") != fields.get("slack.ts")
        if internal and in_thread and not _is_ticket_customer(session, msg, sender):
            role = AuthorRole.AGENT
        elif (
            internal
            and not in_thread
            and fields.get("slack.kind") == MESSAGE
            and fields.get("slack.channel_type") != "im"
            and not fields.get("slack.mention")
            and self.is_shared(fields["slack.channel"])
        ):
            skip = "a colleague's message in a shared channel"
        if skip:
            fields["slack.skip"] = skip
        payloads = dict(parsed.payloads)
        attachments = self._files(fields, settings, payloads)
        msg = replace(
            msg,
            sender=sender,
            also_known_as=claims,
            author_role=role,
            attachments=(*msg.attachments, *attachments),
            fields=tuple(fields.items()),
        )
        return ParsedInput(msg, payloads)

    # -- Slack look-ups --------------------------------------------------------------

    def bot(self) -> Bot:
        if self._bot is None:
            found = self.client.auth_test()
            self._bot = Bot(
                user_id=str(found.get("user_id") or ""),
                bot_id=str(found.get("bot_id") or ""),
                team_id=str(found.get("team_id") or ""),
            )
        return self._bot

    def profile(self, user: str) -> Profile | None:
        try:
            found = self.client.users_info(user=user)
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            log.info("slack user %s not readable: %s", user, error_code(exc))
            return None
        data = found.get("user") or {}
        profile = data.get("profile") or {}
        return Profile(
            user=user,
            team=str(data.get("team_id") or profile.get("team") or ""),
            name=str(data.get("real_name") or profile.get("real_name") or data.get("name") or ""),
            email=str(profile.get("email") or ""),
            is_bot=bool(data.get("is_bot")),
        )

    def is_shared(self, channel: str) -> bool:
        if channel not in self._shared:
            try:
                found = self.client.conversations_info(channel=channel)
            except SlackApiError as exc:
                if is_transient(exc):
                    raise
                log.info("slack channel %s not readable: %s", channel, error_code(exc))
                return False
            info = found.get("channel") or {}
            self._shared[channel] = bool(
                info.get("is_ext_shared") or info.get("is_shared") or info.get("is_org_shared")
            )
        return self._shared[channel]

    def _internal(self, profile: Profile, bot: Bot, settings: Settings) -> bool:
        domain = profile.email.rpartition("@")[2].lower()
        return profile.team == bot.team_id or (
            bool(domain) and domain in {d.lower() for d in settings.slack_internal_domains}
        )

    def _reaction(self, fields: dict[str, str], settings: Settings) -> str | None:
        """Why this reaction may not open a ticket (who reacted), or None."""
        by = fields.get("slack.reacted_by", "")
        allowed = settings.slack_reaction_users
        if allowed:
            return None if by in allowed else f"reaction by {by}, who may not open tickets"
        profile = self.profile(by)
        if profile is None or not self._internal(profile, self.bot(), settings):
            return f"reaction by {by}, who is not of the own workspace"
        return None

    def _reacted_message(self, msg: InboundMessage, fields: dict[str, str]) -> InboundMessage:
        try:
            found = self.client.conversations_history(
                channel=fields["slack.channel"], latest=fields["slack.ts"], inclusive=True, limit=1
            )
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            fields["slack.skip"] = f"the reacted message cannot be read: {error_code(exc)}"
            return replace(msg, fields=tuple(fields.items()))
        messages = [m for m in found.get("messages") or [] if m.get("ts") == fields["slack.ts"]]
        if not messages:
            fields["slack.skip"] = "the reacted message is no longer there"
            return replace(msg, fields=tuple(fields.items()))
        original = messages[0]
        text = plain_text(str(original.get("text") or ""))
        team = fields["slack.team"]
        user = str(original.get("user") or "")
        # A thread broadcast's ticket lives in its thread, like the thread's replies.
        thread_ts = str(original.get("thread_ts") or fields["slack.ts"])
        fields.update(
            {
                "slack.user": user,
                "slack.thread_ts": thread_ts,
                "slack.files": json.dumps(original.get("files") or []),
            }
        )
        return replace(
            msg,
            conversation_key=f"{team}:{fields['slack.channel']}:{thread_ts}",
            sender=Party(PartyKind.SLACK, f"{team}:{user}", verified=True),
            subject=(text.strip().splitlines() or ["Slack message"])[0][:120],
            body_text=text,
            body_full=text,
            fields=tuple(fields.items()),
        )

    # -- files -----------------------------------------------------------------------

    def _files(
        self, fields: dict[str, str], settings: Settings, payloads: dict[str, bytes]
    ) -> list[AttachmentInfo]:
        files = json.loads(fields.get("slack.files") or "[]")
        budget = AttachmentBudget(
            settings.max_attachment_bytes, settings.max_total_attachment_bytes
        )
        return [self._file(f, budget, payloads) for f in files if isinstance(f, dict)]

    def _file(
        self, meta: dict[str, Any], budget: AttachmentBudget, payloads: dict[str, bytes]
    ) -> AttachmentInfo:
        budget.count += 1
        url = str(meta.get("url_private") or meta.get("url_private_download") or "")
        if not url and meta.get("id"):
            # Slack Connect files arrive as ids only (file_access: check_file_info).
            try:
                info = self.client.files_info(file=str(meta["id"]))
            except SlackApiError as exc:
                if is_transient(exc):
                    raise
                reason = f"files.info refused: {error_code(exc)}"
                return _refused(
                    str(meta.get("name") or "file"), "application/octet-stream", 0, reason
                )
            meta = {**meta, **(info.get("file") or {})}
            url = str(meta.get("url_private_download") or meta.get("url_private") or "")
        name = safe_filename(str(meta.get("name") or meta.get("title") or "")) or (
            f"slack-file-{budget.count}"
        )
        declared = str(meta.get("mimetype") or _OCTETS)
        size = meta.get("size") if isinstance(meta.get("size"), int) else None
        if size is not None and size > budget.max_bytes:
            return _refused(name, declared, size, f"attachment exceeds {budget.max_bytes} bytes")
        if not url:
            return _refused(name, declared, size or 0, "Slack gave no download URL for the file")
        data, content_type = self._download(url, budget.max_bytes)
        if data is None:
            return _refused(
                name, declared, size or 0, f"attachment exceeds {budget.max_bytes} bytes"
            )
        digest = hashlib.sha256(data).hexdigest()
        if content_type.startswith("text/html") and not declared.startswith("text/html"):
            return AttachmentInfo(name, declared, len(data), digest, refused_reason=SIGN_IN_PAGE)
        if budget.used_bytes + len(data) > budget.max_total_bytes:
            reason = f"attachments exceed {budget.max_total_bytes} bytes in total"
            return AttachmentInfo(name, declared, len(data), digest, refused_reason=reason)
        budget.used_bytes += len(data)
        payloads[digest] = data
        return AttachmentInfo(name, declared, len(data), digest)

    def _download(self, url: str, limit: int) -> tuple[bytes | None, str]:
        """The file's bytes (None past ``limit``) and the content type it came with."""
        headers = {"Authorization": f"Bearer {self.client.token}"}
        with (
            httpx.Client(follow_redirects=False, timeout=30) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 429 or response.status_code >= 500:
                raise SourceUnavailable(f"file download answered {response.status_code}")
            content_type = response.headers.get("content-type", "")
            if response.status_code != 200:
                return b"", f"text/html; status {response.status_code}"
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    return None, content_type
                chunks.append(chunk)
            return b"".join(chunks), content_type


def _refused(name: str, content_type: str, size: int, reason: str) -> AttachmentInfo:
    # Not downloaded: no content to hash.
    return AttachmentInfo(name, content_type, size, "", refused_reason=reason)


def _identities(
    sender: Party, profile: Profile | None, bot: Bot
) -> tuple[Party, tuple[Party, ...]]:
    if profile is None:
        return sender, ()
    # The user's own workspace names them (a Slack Connect partner's user keeps theirs).
    user = sender.value.split(":", 1)[-1]
    value = f"{profile.team}:{user}" if profile.team else sender.value
    party = Party(PartyKind.SLACK, value, profile.name, verified=True)
    if not profile.email:
        return party, ()
    # Only the own workspace's admins vouch for its users' profile emails.
    own = profile.team == bot.team_id
    return party, (Party(PartyKind.EMAIL, profile.email, profile.name, verified=own),)


def _is_ticket_customer(session: Session, msg: InboundMessage, sender: Party) -> bool:
    """Whether ``sender`` is the customer of the ticket of ``msg``'s thread."""
    ticket_id = session.execute(
        select(Message.ticket_id)
        .where(Message.conversation_key == msg.conversation_key)
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if ticket_id is None:
        return True
    ticket = session.get(Ticket, ticket_id)
    identity = identity_row(session, sender.kind.value, sender.value)
    return (
        ticket is not None
        and identity is not None
        and (owner(session, identity).id == ticket.customer_id)
    )


def _with(parsed: ParsedInput, changes: dict[str, str]) -> ParsedInput:
    fields = {**fields_of(parsed.message), **changes}
    return ParsedInput(replace(parsed.message, fields=tuple(fields.items())), parsed.payloads)


@contextmanager
def _classified() -> Iterator[None]:
    """Slack's rate limits, server errors and an unreachable API: retry the ingest later."""
    try:
        yield
    except SlackApiError as exc:
        if is_transient(exc):
            raise SourceUnavailable(f"Slack API: {error_code(exc)}") from exc
        raise
    except (OSError, httpx.TransportError) as exc:
        raise SourceUnavailable(f"Slack API unreachable: {exc}") from exc


def install(settings: Settings) -> None:
    """Register this process's enricher; without a bot token it leaves events as they are."""
    from ingest import channel_steps

    channel_steps.register_enrich("slack", SlackEnricher(settings).enrich)
