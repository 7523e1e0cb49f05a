"""A store not migrated for this release is told in one line, by the roles and commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from ingest.migrate import alembic_config, upgrade
from ingest.schema import SchemaBehind, check_schema, head_revision, is_schema_missing
from tests.integration.support import OMNIROUTE, clean_env
from workers.cli import main

UPGRADE = "run `omniroute db upgrade`"


def test_the_revision_read_from_file_names_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_an_empty_store_then_one_a_migration_behind_are_refused(tmp_path: Path) -> None:
    # Given a store file with no tables
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_engine(url)
    head = head_revision()
    before = f"{int(head) - 1:04d}"
    try:
        # When it is checked, then migrated to the revision before head and checked
        with pytest.raises(SchemaBehind) as empty:
            check_schema(engine)
        upgrade(url, before)
        with pytest.raises(SchemaBehind) as behind:
            check_schema(engine)
        # Then each is refused saying what to run; at head it passes
        assert str(empty.value) == f"the store has no omniroute tables: {UPGRADE}"
        assert str(behind.value) == (
            f"the store's schema is at revision {before}, this omniroute needs {head}: {UPGRADE}"
        )
        upgrade(url)
        assert check_schema(engine) is None
        # And a store a newer release migrated is only warned about
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        warning = check_schema(engine)
        assert warning is not None and "newer than this omniroute's" in warning
    finally:
        engine.dispose()


def test_the_configured_store_passes_and_a_missing_table_is_recognised(engine: Engine) -> None:
    # Given the suite's store (migrated), on either backend
    assert check_schema(engine) is None
    # When a statement names a table the store does not have
    with pytest.raises(DBAPIError) as missing, engine.connect() as conn:
        conn.execute(text("SELECT id FROM no_such_table"))
    # Then the error reads as a store not migrated, and another error does not
    assert is_schema_missing(missing.value)
    with pytest.raises(DBAPIError) as other, engine.connect() as conn:
        conn.execute(text("SELECT 1 / (SELECT 0) FROM no_such_syntax WHERE"))
    assert not is_schema_missing(other.value)


def test_commands_roles_and_the_pipe_on_an_unmigrated_store_say_what_to_run(
    tmp_path: Path,
) -> None:
    # Given a data dir whose embedded store was never migrated
    env = clean_env(OMNIROUTE_DATA_DIR=str(tmp_path / "data"))
    # When a command, a role and the MTA pipe run on it
    listed = CliRunner().invoke(
        main, ["tickets", "list"], env={**env, "OMNIROUTE_DATABASE_URL": None}
    )
    role = subprocess.run(
        [str(OMNIROUTE), "smtp"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    piped = subprocess.run(
        [str(OMNIROUTE), "ingest"],
        env=env,
        input="Subject: hi\n\nhello\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then each says, in one line, that the store must be migrated: the command and the
    # role exit 1, the pipe 75 so the MTA keeps the mail and tries again
    assert listed.exit_code == 1
    assert f"no such table: tickets): {UPGRADE}" in listed.output
    assert role.returncode == 1
    assert f"Error: the store has no omniroute tables: {UPGRADE}" in role.stderr
    assert piped.returncode == 75
    assert f"the store lacks what this omniroute needs: {UPGRADE}" in piped.stderr
    assert "Traceback" not in role.stderr + piped.stderr
