"""One signing key per deployment: from the environment with a server database."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import load_settings


def test_the_signing_key_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIROUTE_SIGNING_KEY", "k" * 40)
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", "postgresql+psycopg://db/omniroute")
    settings = load_settings(data_dir=tmp_path)
    assert settings.signing_key == b"k" * 40
    assert not (tmp_path / "secret.key").exists()


def test_a_server_database_without_a_signing_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given processes sharing a PostgreSQL database and no signing key
    monkeypatch.delenv("OMNIROUTE_SIGNING_KEY", raising=False)
    monkeypatch.delenv("OMNIROUTE_SECRET_KEY", raising=False)
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", "postgresql+psycopg://db/omniroute")
    settings = load_settings(data_dir=tmp_path)
    # When the key is needed
    # Then the error names the variable, and no host-local key is invented
    with pytest.raises(ConfigError, match="OMNIROUTE_SIGNING_KEY is not set"):
        _ = settings.signing_key
    assert not (tmp_path / "secret.key").exists()


def test_the_embedded_default_keeps_one_generated_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OMNIROUTE_SIGNING_KEY", "OMNIROUTE_SECRET_KEY", "OMNIROUTE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    first = load_settings(data_dir=tmp_path).signing_key
    second = load_settings(data_dir=tmp_path).signing_key
    assert first == second and len(first) == 64
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
