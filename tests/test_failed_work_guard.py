"""The suite's guard: a test that leaves a ``failed_work`` row fails unless it expects one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]

INNER = """
import pytest
from ingest.models import FailedWork


def _bug(sessions):
    with sessions.begin() as session:
        session.add(FailedWork(stage="triage", payload={"ticket_id": 1}, error="KeyError: 'x'",
                               traceback="Traceback (most recent call last): KeyError: 'x'"))


def test_leaves_a_bug_behind(sessions):
    _bug(sessions)


@pytest.mark.failed_work
def test_expects_the_bug(sessions):
    _bug(sessions)


def test_leaves_nothing(sessions):
    pass
"""


def test_a_test_leaving_failed_work_fails_and_one_marked_for_it_passes(tmp_path: Path) -> None:
    # Given a test module using the suite's fixtures: one test leaves a recorded bug,
    # one expects it (marked), one leaves nothing
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_inner.py").write_text(INNER)
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    # When that module runs
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then only the unmarked test that left the bug fails, naming the stage and traceback
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "ERROR test_inner.py::test_leaves_a_bug_behind" in out
    assert "work failed with a bug (failed_work)" in out
    assert "triage {'ticket_id': 1}" in out
    assert "PASSED test_inner.py::test_expects_the_bug" in out
    assert "PASSED test_inner.py::test_leaves_nothing" in out
    assert "ERROR test_inner.py::test_expects_the_bug" not in out
