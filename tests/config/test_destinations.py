"""Destinations in the rules file: one model per ``type``, errors with their line."""

from __future__ import annotations

import pytest

from config.destinations import (
    EmailDestination,
    FreshdeskDestination,
    SlackDestination,
    WebhookDestination,
    ZendeskDestination,
)
from config.errors import RulesFileError
from config.rules import load_rules_text

ROUTES = "routes:\n  - name: default\n    team: support\n"

ALL_KINDS = """format: 1
destinations:
  hook:
    url: https://desk.example.com/hook
    secret_env: HOOK_SECRET
  inbox:
    type: email
    to: desk@other.example.com
    mode: resend
  zendesk:
    type: zendesk
    url: https://acme.zendesk.com
    email: agent@acme.com
    token_env: ZENDESK_TOKEN
    group_ids: {billing: 360001}
    tags: [omniroute]
  freshdesk:
    type: freshdesk
    url: https://acme.freshdesk.com
    api_key_env: FRESHDESK_KEY
    followups: reply
  alerts:
    type: slack
    channel: C0123ABCD
    token_env: SLACK_BOT_TOKEN
    max_attempts: 4
"""


def test_each_type_loads_as_its_own_model_named_by_its_key() -> None:
    # Given a file with one destination of each kind (the webhook without a type)
    # When it is loaded
    rules = load_rules_text(ALL_KINDS + ROUTES)
    # Then each is its kind's model, named by its key, with the kind's defaults
    kinds = {name: type(d) for name, d in rules.destinations.items()}
    assert kinds == {
        "hook": WebhookDestination,
        "inbox": EmailDestination,
        "zendesk": ZendeskDestination,
        "freshdesk": FreshdeskDestination,
        "alerts": SlackDestination,
    }
    alerts = rules.destinations["alerts"]
    assert isinstance(alerts, SlackDestination)
    assert (alerts.name, str(alerts.base_url), alerts.max_attempts) == (
        "alerts",
        "https://slack.com/api/",
        4,
    )
    zendesk = rules.destinations["zendesk"]
    assert isinstance(zendesk, ZendeskDestination)
    assert zendesk.group_ids == {"billing": 360001}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("type: zendesk", "type: zendsk"),
            ":11: destinations.zendesk.type: type must be one of webhook, email, zendesk, "
            "freshdesk, slack",
        ),
        (
            ("    email: agent@acme.com\n", ""),
            ":10: destinations.zendesk.email: missing required key",
        ),
        (
            ("to: desk@other.example.com", "to: desk"),
            ":8: destinations.inbox.to: 'desk' is not an email address",
        ),
        (("followups: reply", "followups: comment"), ":21: destinations.freshdesk.followups:"),
        (("channel: C0123ABCD", "channel: '#support'"), ":24: destinations.alerts.channel:"),
    ],
)
def test_a_bad_destination_is_reported_at_its_line_without_the_kind_in_the_path(
    change: tuple[str, str], expected: str
) -> None:
    # Given a file with one mistake in a destination
    text = ALL_KINDS.replace(*change) + ROUTES
    # When it is loaded
    with pytest.raises(RulesFileError) as error:
        load_rules_text(text)
    # Then the error names the line and the destination's own path
    assert expected in str(error.value)
