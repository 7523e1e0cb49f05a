"""``omniroute rules check FILE``: validate a rules file without starting anything."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def rules() -> None:
    """Rules files."""


@rules.command(name="check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rules_check(path: Path) -> None:
    """Validate a rules/destinations YAML file; exit 1 with line numbers on errors."""
    from router.check import check_rules_file

    problems = check_rules_file(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"{path}: ok")
