"""The command line starts fast: commands load their modules only when they run."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from workers.cli import COMMANDS, main
from workers.cli.lazy import LazyGroup
from workers.cli.tickets import CHANGES, tickets


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("omniroute, version ")


def test_every_listed_command_loads_and_its_summary_is_its_own() -> None:
    # Given the summaries --help shows without loading the commands
    for group, entries in ((main, COMMANDS), (tickets, CHANGES)):
        assert isinstance(group, LazyGroup)
        for name, (_, summary) in entries.items():
            # When the command is loaded
            command = group.load(name)
            # Then it is the command of that name, and the summary is its own
            assert command.name == name
            assert isinstance(command, click.Command)
            assert command.get_short_help_str(limit=300) == summary


def test_help_and_tickets_list_import_no_heavy_stack() -> None:
    # Given a fresh interpreter
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from workers.cli import main\n"
        "CliRunner().invoke(main, ['--help'])\n"
        "main.get_command(None, 'tickets').get_command(None, 'list')\n"
        "heavy = ['sklearn', 'vaderSentiment', 'dramatiq', 'aiosmtpd', 'httpx', 'uvicorn',\n"
        "         'starlette', 'boto3', 'redis', 'imapclient']\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    # When --help runs and tickets list is loaded
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    # Then none of the heavy stacks was imported
    assert loaded == []
