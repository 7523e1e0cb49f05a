"""The language model read from an unpacked copy decides exactly as py3langid's own load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from normalize.language_model import (
    RowsOnDemand,
    load_identifier,
    mapped_identifier,
    unpacked,
)

TEXTS = [
    "Hello, my invoice shows the wrong amount and I was charged twice this month.",
    "Hallo, meine Rechnung ist falsch und ich wurde doppelt belastet.",
    "Bonjour, ma facture est incorrecte, pouvez-vous la corriger rapidement ?",
    "注文の件で連絡しました。箱が壊れていました。",
    "Здравствуйте, я не могу войти в свой аккаунт уже второй день.",
    "ok",
    "",
]
SOURCE = Path(MODEL_DIR) / MODEL_FILE


@pytest.fixture(scope="module")
def in_memory() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpacked(SOURCE, tmp_path_factory.mktemp("cache"))


def test_unpacked_model_classifies_as_the_shipped_one(
    folder: Path, in_memory: LanguageIdentifier
) -> None:
    # Given the shipped model unpacked into a cache folder
    identifier = mapped_identifier(folder)
    for text in TEXTS:
        # When a text is classified by both
        # Then the language and its probability are the same
        assert identifier.classify(text) == in_memory.classify(text)


def test_an_unpacked_model_is_reused_not_written_again(folder: Path) -> None:
    # Given a cache folder that already holds the unpacked model
    written = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    # When the model is asked for again
    again = unpacked(SOURCE, folder.parent)
    # Then the same files are used, untouched, and no staging folder is left behind
    assert again == folder
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == written
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_rows_on_demand_reads_the_rows_asked_for(tmp_path: Path) -> None:
    # Given a table saved as .npy
    table = np.arange(60, dtype=np.float16).reshape(12, 5)
    np.save(tmp_path / "t.npy", table)
    rows = RowsOnDemand(tmp_path / "t.npy")
    # When rows are asked for by number, in any order and repeated
    wanted = np.array([7, 0, 11, 7])
    # Then they are the table's rows, in that order
    assert rows.shape == (12, 5)
    assert np.array_equal(rows[wanted], table[wanted])
    # And a row outside the table is an error, not garbage
    with pytest.raises(IndexError):
        rows[np.array([12])]


def test_without_a_writable_cache_the_model_is_loaded_into_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: LanguageIdentifier
) -> None:
    # Given a cache location that cannot be a folder (a file is in the way)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    # When the identifier is loaded
    identifier = load_identifier()
    # Then it still classifies, as py3langid's own load does
    assert identifier.classify(TEXTS[1]) == in_memory.classify(TEXTS[1])
