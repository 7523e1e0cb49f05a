"""CPU time read from ``/proc`` (Linux), for the benches that split it by process or thread."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def stat_cpu_seconds(stat: Path) -> float | None:
    """User plus system CPU seconds in a ``/proc/<pid>/stat`` or
    ``/proc/<pid>/task/<tid>/stat`` file; None when the process or thread is gone."""
    try:
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND
