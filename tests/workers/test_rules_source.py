"""Running processes reload the rules file when it changes, and keep the old rules when
the new file is invalid."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from config.errors import RulesFileError
from workers.triage.rules_source import RulesSource

RULES = """
format: 1
routes:
  - name: default
    team: {team}
"""


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    # Make the change visible even on file systems with coarse timestamps.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def test_a_changed_rules_file_is_picked_up(tmp_path: Path) -> None:
    # Given a process running with a rules file
    path = tmp_path / "rules.yaml"
    write(path, RULES.format(team="support"), 0)
    source = RulesSource(path, check_seconds=0)
    first = source.current()
    # When the file is changed
    write(path, RULES.format(team="billing"), 1)
    # Then the next read sees the new rules
    current = source.current()
    assert current.routes[0].team == "billing"
    assert current.version != first.version


def test_an_invalid_change_keeps_the_old_rules_and_logs_the_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a process running with valid rules
    path = tmp_path / "rules.yaml"
    write(path, RULES.format(team="support"), 0)
    source = RulesSource(path, check_seconds=0)
    version = source.current().version
    # When the file is replaced with an invalid one
    with caplog.at_level(logging.ERROR, logger="workers.triage.rules_source"):
        write(path, RULES.format(team="support") + "  - name: Bad Name\n    team: x\n", 1)
        current = source.current()
    # Then the old rules stay in force and the error names the file and line
    assert current.version == version
    assert f"{path}:6: routes[1].name" in caplog.text
    assert "keeping rules " + version in caplog.text


def test_a_fixed_source_never_reads_a_file() -> None:
    # Given fixed rules
    from config.rules import default_rules

    source = RulesSource.fixed(default_rules())
    # Then they are what it serves
    assert source.current() is default_rules()


def test_an_invalid_file_at_start_is_an_error(tmp_path: Path) -> None:
    # Given an invalid rules file
    path = tmp_path / "rules.yaml"
    path.write_text("format: 1\nroutes: []\n", encoding="utf-8")
    # When a source is built from it, the process refuses to start
    with pytest.raises(RulesFileError):
        RulesSource(path)
