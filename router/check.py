"""Back ``omniroute rules check FILE``: every problem in a rules file, as lines to print.

The one place in ``router/`` that reaches the file system, through ``config.rules``.
"""

from __future__ import annotations

from pathlib import Path

from config.rules import rules_file_problems


def check_rules_file(path: str | Path) -> list[str]:
    """Problems in the rules file at ``path`` as ``"FILE:LINE: where: what"``; empty when OK."""
    return [str(problem) for problem in rules_file_problems(path)]
