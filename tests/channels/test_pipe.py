"""The MTA pipe edge (``omniroute ingest``): long lines, and a bug told apart from an outage."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import channels.pipe
from channels import replies
from channels.pipe import accept_piped
from config.settings import Settings
from ingest.models import InboundRecord
from tests.integration.support import OMNIROUTE, clean_env

LONG_LINE = ("<p>" + "Lorem ipsum dolor sit amet. " * 160)[:4_464].encode()


@pytest.mark.integration
def test_piped_mail_with_a_long_line_is_stored_byte_for_byte(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # Given a mail with one 4,464-character line, as an MTA pipe hands it over
    raw = (
        b"From: Jane <jane@customer.test>\nTo: support@example.com\nSubject: long\n"
        b"Message-ID: <piped-long@customer.test>\nContent-Type: text/html\n\n" + LONG_LINE + b"\n"
    )
    env = clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path / "d"))
    # When `omniroute ingest -` reads it
    result = subprocess.run(
        [str(OMNIROUTE), "ingest", "-"],
        input=raw,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    # Then it exits 0 and the bytes are stored unchanged
    assert result.returncode == replies.EXIT_OK, result.stderr
    with sessions() as session:
        [record] = session.execute(select(InboundRecord)).scalars()
    assert record.raw == raw


def test_a_bug_in_the_pipe_accept_exits_tempfail_with_the_traceback_logged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an accept path with a bug in it
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("unexpected keyword")

    monkeypatch.setattr(channels.pipe, "accept_raw", broken)
    # When a message is piped in
    result = accept_piped(settings, b"From: jane@customer.test\n\nhello\n")
    # Then the MTA is told to retry (EX_TEMPFAIL), not to bounce, and the message says why
    assert result.exit_code == replies.EXIT_TEMPFAIL
    assert result.message == "internal error, not stored; try again later"
    # And the traceback is logged for the operator
    [record] = [r for r in caplog.records if r.name == "channels.pipe"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is TypeError
