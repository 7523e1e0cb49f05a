"""The IMAP reader's pure decisions and its settings, without a server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from channels import imap_plan
from config.errors import ConfigError
from config.mailboxes import ImapMailbox
from config.settings import load_settings
from ingest.mailboxes import MailboxState
from workers.cli import main

MAILBOX = {
    "name": "support",
    "host": "imap.example.com",
    "username": "support@example.com",
    "password_env": "SUPPORT_IMAP_PASSWORD",
}


def wake(**overrides: float | bool) -> str | None:
    values: dict[str, float | bool] = {
        "now": 100.0,
        "idle_since": 90.0,
        "polled_at": 90.0,
        "idle_seconds": 540.0,
        "poll_seconds": 60.0,
        "new_mail": False,
        "stopping": False,
    }
    values.update(overrides)
    return imap_plan.wake_reason(**values)  # type: ignore[arg-type]


def test_first_run_and_uidvalidity_change_read_from_uid_one() -> None:
    assert imap_plan.resume_after(None, 7) == 0
    assert imap_plan.resume_after(MailboxState(uidvalidity=6, last_uid=40), 7) == 0
    assert imap_plan.resume_after(MailboxState(uidvalidity=7, last_uid=40), 7) == 40


def test_only_uids_above_the_last_one_are_fetched_oldest_first() -> None:
    # "UID 41:*" still matches UID 40 when it is the highest (RFC 3501 6.4.8)
    assert imap_plan.uids_to_fetch([40], 40) == []
    assert imap_plan.uids_to_fetch([44, 41, 43, 41], 40) == [41, 43, 44]


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    low = [imap_plan.backoff_delay(n, base=1, cap=60, rand=lambda: 0.0) for n in range(8)]
    high = [imap_plan.backoff_delay(n, base=1, cap=60, rand=lambda: 1.0) for n in range(8)]
    assert low == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert high == [1, 2, 4, 8, 16, 32, 60, 60]
    assert imap_plan.backoff_delay(10_000, base=1, cap=300, rand=lambda: 1.0) == 300


def test_idle_wakes_for_stop_then_new_mail_then_poll_then_renewal() -> None:
    assert wake() is None
    assert wake(stopping=True, new_mail=True) == "stop"
    assert wake(new_mail=True) == "new-mail"
    assert wake(now=150.0) == "poll"
    assert wake(poll_seconds=3600, idle_since=0.0, now=540.0) == "renew-idle"
    assert wake(poll_seconds=3600, idle_since=0.0, now=539.0) is None


def test_idle_responses_announce_new_mail_or_a_closing_server() -> None:
    assert imap_plan.has_new_mail([(b"OK", b"Still here"), (3, b"EXISTS")])
    assert imap_plan.has_new_mail([(1, b"RECENT")])
    assert not imap_plan.has_new_mail([(2, b"EXPUNGE"), (b"OK", b"Still here")])
    assert imap_plan.server_said_bye([(b"BYE", b"Server shutting down.")])
    assert not imap_plan.server_said_bye([(3, b"EXISTS")])


def test_lease_is_renewed_at_a_third_of_its_ttl() -> None:
    assert not imap_plan.lease_renewal_due(now=119.0, renewed_at=100.0, ttl_seconds=60)
    assert imap_plan.lease_renewal_due(now=120.0, renewed_at=100.0, ttl_seconds=60)


def test_dedupe_key_and_envelope_name_mailbox_uidvalidity_and_uid() -> None:
    assert imap_plan.dedupe_key("support", 7, 41) == "imap:support:7:41"
    assert imap_plan.envelope("support", 7, 41) == {
        "mailbox": "support",
        "uid": 41,
        "uidvalidity": 7,
        "source": "imap",
    }


def test_mailboxes_are_read_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    second = {**MAILBOX, "name": "billing", "after_accept": "move", "move_to": "Done"}
    monkeypatch.setenv("OMNIROUTE_IMAP_MAILBOXES", json.dumps([MAILBOX, second]))
    settings = load_settings()
    support, billing = settings.imap_mailboxes
    assert (support.folder, support.after_accept, support.resolved_port) == ("INBOX", "seen", 993)
    assert (support.poll_seconds, support.idle_seconds) == (60, 540)
    assert (billing.after_accept, billing.move_to) == ("move", "Done")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"security": "plain"}, "plain is allowed only on loopback"),
        ({"after_accept": "move"}, "move needs move_to"),
        ({"password_env": None}, "set one of password_env or oauth2_token_env"),
        ({"oauth2_token_env": "TOKEN"}, "set one of password_env or oauth2_token_env"),
        ({"after_accept": "delete"}, "AFTER_ACCEPT: Input should be 'seen', 'move' or 'leave'"),
        ({"idle_seconds": 1800}, "IDLE_SECONDS: Input should be less than 1740"),
    ],
)
def test_unsafe_or_incomplete_mailboxes_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object], complaint: str
) -> None:
    monkeypatch.setenv("OMNIROUTE_IMAP_MAILBOXES", json.dumps([{**MAILBOX, **change}]))
    with pytest.raises(ConfigError, match="OMNIROUTE_IMAP_MAILBOXES") as raised:
        load_settings()
    assert complaint in str(raised.value)


def test_plain_imap_is_allowed_on_loopback() -> None:
    mailbox = ImapMailbox(**{**MAILBOX, "host": "127.0.0.1", "security": "plain"})  # type: ignore[arg-type]
    assert mailbox.resolved_port == 143


def test_imap_role_without_mailboxes_says_what_to_set() -> None:
    result = CliRunner().invoke(main, ["imap"], env={"OMNIROUTE_IMAP_MAILBOXES": "[]"})
    assert result.exit_code == 1
    assert "OMNIROUTE_IMAP_MAILBOXES" in result.output


def test_imap_role_names_a_missing_password_variable(database_url: str, tmp_path: Path) -> None:
    env = {
        "OMNIROUTE_DATABASE_URL": database_url,
        "OMNIROUTE_DATA_DIR": str(tmp_path / "data"),
        "OMNIROUTE_IMAP_MAILBOXES": json.dumps([MAILBOX]),
        "SUPPORT_IMAP_PASSWORD": "",
        # The deployment's shared key, which a server database requires of every role.
        "OMNIROUTE_SIGNING_KEY": "test-signing-key",
    }
    result = CliRunner().invoke(main, ["imap"], env=env)
    assert result.exit_code == 1
    assert "SUPPORT_IMAP_PASSWORD is not set" in result.output


def test_readme_mailbox_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the mailbox list the README shows
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = re.search(r"export OMNIROUTE_IMAP_MAILBOXES='(.*?)'", readme, flags=re.DOTALL)
    assert example is not None
    # When it is read as settings
    monkeypatch.setenv("OMNIROUTE_IMAP_MAILBOXES", example.group(1))
    [mailbox] = load_settings().imap_mailboxes
    # Then it names a TLS mailbox that moves what it accepted
    assert (mailbox.security, mailbox.after_accept, mailbox.move_to) == ("tls", "move", "Processed")


def test_after_a_sync_that_took_mail_the_next_poll_comes_soon() -> None:
    # Given a poll every 60 s
    after = imap_plan.polled_at_after
    # When a sync ends at t=100 having taken mail, or having found none
    busy = after(100.0, took_mail=True, poll_seconds=60)
    quiet = after(100.0, took_mail=False, poll_seconds=60)
    # Then the next poll is due two seconds later after the first, a minute after the other
    assert wake(now=101.9, polled_at=busy, idle_since=100.0) is None
    assert wake(now=102.0, polled_at=busy, idle_since=100.0) == "poll"
    assert wake(now=159.9, polled_at=quiet, idle_since=100.0) is None
    assert wake(now=160.0, polled_at=quiet, idle_since=100.0) == "poll"
    # And a poll interval shorter than the settling time stays as it is
    assert after(100.0, took_mail=True, poll_seconds=1) == 100.0
