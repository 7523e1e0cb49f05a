"""The Slack channel's reply sender: acknowledgements and agent replies as thread posts.

A message goes into the thread of the ticket's conversation (``team:channel:thread_ts``)
with ``chat.postMessage``; an agent's reply starts with the agent's name. The post's
``channel:ts`` is its external id, the same form as an inbound message's, so our own
post coming back as an event is recognised and never becomes a customer message.

Slack's answers by fault: a rate limit (with its ``Retry-After``), a server error or
an unreachable API is ``SendFailed`` (retried); ``not_in_channel``,
``channel_not_found``, ``is_archived`` and every other refusal is ``SendRefused``,
kept on the message. Acknowledgements are off in ``OMNIROUTE_SLACK_QUIET_CHANNELS``.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from channels.outbound import OutboundText, SendFailed, SendRefused, Sent
from channels.slack_api import error_code, is_transient, retry_after, web_client
from config.settings import Settings
from ingest.slack_steps import is_listed
from normalize.types import Party, PartyKind


class SlackSender:
    identity_kind = PartyKind.SLACK

    def __init__(self, settings: Settings, client: WebClient | None = None) -> None:
        self.settings = settings
        self.client = client or web_client(settings)

    def refusal(self, recipient: Party) -> str | None:
        if self.client.token is None:
            return "no Slack bot token configured (OMNIROUTE_SLACK_BOT_TOKEN)"
        return None

    def reference(self, ticket_number: int) -> str | None:
        return None  # Slack names the post (its ts) when it is made

    def send(self, text: OutboundText) -> Sent:
        parts = (text.conversation_key or "").split(":")
        if len(parts) != 3 or not all(parts):
            raise SendRefused("no Slack thread to post in (the message has no conversation)")
        team, channel, thread_ts = parts
        if text.automated and is_listed(self.settings.slack_quiet_channels, team, channel):
            raise SendRefused(f"acknowledgements are off in Slack channel {channel}")
        body = text.body if text.automated else f"*{text.author}*\n{text.body}"
        try:
            posted = self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=body, unfurl_links=False
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if is_transient(exc):
                wait = retry_after(exc)
                after = f", retry after {wait:g} s" if wait is not None else ""
                raise SendFailed(f"Slack: {code}{after}", wait) from exc
            raise SendRefused(f"Slack refused the post: {code}") from exc
        except OSError as exc:
            raise SendFailed(f"Slack API unreachable: {exc}") from exc
        return Sent(external_id=f"{posted.get('channel') or channel}:{posted.get('ts')}")
