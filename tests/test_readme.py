"""The README's examples are part of the product: its rules example must load."""

from __future__ import annotations

import re
from pathlib import Path

from config.rules import load_rules_text

README = Path(__file__).parents[1] / "README.md"


def test_readme_rules_example_is_valid() -> None:
    # Given the YAML example in the README
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks
    # When it is loaded as a rules file
    rules = load_rules_text(blocks[0], source="README.md")
    # Then it routes to the webhook it declares
    assert set(rules.destinations) == {"helpdesk"}


def test_every_complete_rules_example_in_the_readme_loads() -> None:
    # Given every YAML example that is a whole rules file (it starts with format: 1)
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    complete = [b for b in blocks if b.startswith("format: 1")]
    assert len(complete) >= 4
    # When each is loaded, then none has an error
    for block in complete:
        load_rules_text(block, source="README.md")


def test_procfile_lists_the_documented_roles() -> None:
    procfile = (README.parent / "Procfile").read_text().splitlines()
    roles = {line.split(":", 1)[0] for line in procfile if line.strip()}
    assert roles == {"web", "smtp", "imap", "slack", "worker", "scheduler"}
