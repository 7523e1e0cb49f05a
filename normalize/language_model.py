"""py3langid's model, read from an unpacked copy on disk rather than copied into memory.

The model py3langid ships is compressed (LZMA over NumPy arrays); loading it the usual
way costs every process that detects languages about 70 MiB of private memory: the
byte n-gram automaton (37 MiB), the per-feature weights (27 MiB) and Python lists of
the automaton's states. Here it is unpacked once per machine into a cache folder
(``$XDG_CACHE_HOME/omniroute`` or ``~/.cache/omniroute``) as plain ``.npy`` files:

- the automaton is memory-mapped read-only: its pages are the page cache's, shared by
  every process that maps them and dropped under memory pressure (the walk reaches
  all over it, so it ends up mapped whole);
- of the weights, a message needs only the rows of the n-grams it contains (tens to
  a few hundred of 100,000), so those rows are read from the file when asked for;
- the per-state tables stay compact arrays instead of lists of Python ints.

When the cache cannot be written or read, the model is loaded into memory as
py3langid does it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import weakref
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

log = logging.getLogger(__name__)

# Raise when the layout of the unpacked files changes.
LAYOUT = 1
# The large tables (read row by row, mapped); the small ones are read whole.
LARGE = ("ptc", "nextmove")
SMALL = ("pc", "classes", "nextmove_row", "out_feat")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "omniroute"


def load_identifier() -> LanguageIdentifier:
    """py3langid's shipped model with probabilities, mapped when the cache allows."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    source = Path(MODEL_DIR) / MODEL_FILE
    try:
        folder = unpacked(source, cache_root())
        return mapped_identifier(folder)
    except (OSError, ValueError) as exc:
        log.warning("language model not mapped from a cache (%s); loading it into memory", exc)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def unpacked(source: Path, root: Path) -> Path:
    """The folder holding ``source`` unpacked, written first if it is not there yet."""
    stat = source.stat()
    folder = root / f"langid-{LAYOUT}-{stat.st_size}-{stat.st_mtime_ns}"
    if all((folder / f"{name}.npy").is_file() for name in (*LARGE, *SMALL)):
        return folder
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Unpacked beside the final folder, then renamed into place: a reader never sees
    # half a model, and two processes unpacking at once both end with a whole one.
    staging = Path(tempfile.mkdtemp(prefix=".langid-", dir=root))
    try:
        _write_arrays(source, staging)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        if staging.exists():
            for child in staging.iterdir():
                child.unlink()
            staging.rmdir()
    return folder


def _write_arrays(source: Path, folder: Path) -> None:
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, nextmove_row, out_feat = load_model(source)
    arrays: dict[str, Any] = {
        "ptc": np.ascontiguousarray(ptc),
        "pc": np.asarray(pc),
        "classes": np.array(classes),
        "nextmove": np.frombuffer(nextmove, dtype=_unsigned(nextmove)),
        "nextmove_row": np.frombuffer(nextmove_row, dtype=_unsigned(nextmove_row)),
        "out_feat": np.asarray(out_feat, dtype=np.int32),
    }
    for name, values in arrays.items():
        np.save(folder / f"{name}.npy", values, allow_pickle=False)


def _unsigned(values: array[int]) -> str:
    return f"=u{values.itemsize}"


def mapped_identifier(folder: Path) -> LanguageIdentifier:
    """An identifier whose large tables are read-only maps of ``folder``'s files."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    def mapped(name: str) -> Any:
        return np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)

    def small(name: str) -> Any:
        return np.load(folder / f"{name}.npy", allow_pickle=False)

    nextmove = mapped("nextmove")
    pc, classes, nextmove_row, out_feat = (small(name) for name in SMALL)
    weights = RowsOnDemand(folder / "ptc.npy")
    if weights.shape[1] != len(pc) or len(out_feat) != len(nextmove_row):
        raise ValueError(f"{folder}: the unpacked language model does not fit together")
    # The automaton walk indexes one byte at a time: memoryviews give plain ints as fast
    # as py3langid's own arrays, without copying the tables.
    identifier = LanguageIdentifier(
        weights,
        pc,
        classes.tolist(),
        memoryview(nextmove),
        memoryview(out_feat),
        norm_probs=True,
        tk_row=memoryview(nextmove_row),
    )
    # py3langid keeps each state's row offset as a list of Python ints (about 4 MiB).
    identifier._rowbase = array("I", (row << 8 for row in nextmove_row.tolist()))
    return identifier


class RowsOnDemand:
    """The rows of a 2-D ``.npy`` table, read from the file when indexed by row numbers.

    Supports what py3langid asks of its weight table: ``table[rows]`` with an integer
    array, giving a ``(len(rows), columns)`` array.
    """

    def __init__(self, path: Path) -> None:
        import numpy as np

        header = np.load(path, mmap_mode="r", allow_pickle=False)
        if header.ndim != 2 or not header.flags.c_contiguous:
            raise ValueError(f"{path}: not a 2-D table in row order")
        self.shape: tuple[int, int] = header.shape
        self.dtype = header.dtype
        self._offset = header.offset
        del header
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        # Closed when the table goes away, or at exit (a finalizer, unlike __del__, runs
        # before the interpreter tears its modules down).
        weakref.finalize(self, os.close, self._fd)

    def __getitem__(self, rows: Any) -> Any:
        import numpy as np

        wanted = np.asarray(rows, dtype=np.intp)
        out = np.empty((len(wanted), self.shape[1]), dtype=self.dtype)
        view = memoryview(out.data).cast("B")
        size = self._row_bytes
        for place, row in enumerate(wanted.tolist()):
            if not 0 <= row < self.shape[0]:
                raise IndexError(f"row {row} outside 0..{self.shape[0] - 1}")
            got = os.preadv(
                self._fd, [view[place * size : (place + 1) * size]], self._offset + row * size
            )
            if got != size:
                raise OSError(f"short read of the language model ({got} of {size} bytes)")
        return out
