"""Where the store lives: the database URL as hosting providers give it, and the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from config.errors import ConfigError
from config.settings import load_settings
from workers.cli import main


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/support", "postgresql+psycopg://u:p@db:5432/support"),
        ("postgresql://u:p@db/support", "postgresql+psycopg://u:p@db/support"),
        ("postgresql+psycopg://u@db/support", "postgresql+psycopg://u@db/support"),
        ("sqlite:////srv/omniroute/omniroute.db", "sqlite:////srv/omniroute/omniroute.db"),
        ("", None),  # empty is unset: the embedded SQLite file in the data dir
    ],
)
def test_a_postgresql_url_without_a_driver_uses_the_shipped_one(
    given: str, used: str | None, tmp_path: Path
) -> None:
    # Given the URL a hosting provider gives (no driver, or Heroku's postgres://)
    # When the settings are read
    settings = load_settings(data_dir=tmp_path, database_url=given)
    # Then the store is reached with psycopg, the PostgreSQL driver omniroute installs
    embedded = f"sqlite:///{(tmp_path / 'omniroute.db').resolve()}"
    assert settings.resolved_database_url == (used or embedded)


def test_a_database_omniroute_cannot_store_in_is_refused_by_name(tmp_path: Path) -> None:
    # Given a MySQL URL
    # When the settings are read
    # Then the error names the variable and the two stores omniroute supports
    with pytest.raises(ConfigError, match=r"OMNIROUTE_DATABASE_URL: .*SQLite or PostgreSQL"):
        load_settings(data_dir=tmp_path, database_url="mysql://u@db/support")


def test_a_data_dir_that_cannot_be_made_is_a_one_line_error(tmp_path: Path) -> None:
    # Given a data dir under a regular file, which no one can create
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"OMNIROUTE_DATA_DIR": str(blocker / "data"), "OMNIROUTE_DATABASE_URL": ""}
    # When the store is set up, and when a process makes its data dir
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    # Then the command stops with the setting and the reason, and no traceback
    assert result.exit_code == 1
    assert f"OMNIROUTE_DATA_DIR: cannot create {blocker / 'data'}: Not a directory" in (
        result.output
    )
    with pytest.raises(ConfigError, match="OMNIROUTE_DATA_DIR: cannot create"):
        load_settings(data_dir=blocker / "data").ensure_data_dir()
