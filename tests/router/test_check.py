"""Specifications of ``check_rules_file``, behind ``omniroute rules check FILE``."""

from __future__ import annotations

from pathlib import Path

from router.check import check_rules_file

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "rules" / "example.yaml"


def test_valid_file_has_no_problems() -> None:
    # Given the example rules file
    # When it is checked
    problems = check_rules_file(EXAMPLE)
    # Then nothing is reported
    assert problems == []


def test_every_problem_is_listed_with_file_and_line(tmp_path: Path) -> None:
    # Given a file with two unknown destinations
    path = tmp_path / "rules.yaml"
    path.write_text(
        "routes:\n"
        "  - name: billing\n"
        "    when: {category: billing}\n"
        "    team: billing\n"
        "    destinations: [nowhere]\n"
        "  - name: default\n"
        "    team: support\n"
        "    destinations: [elsewhere]\n",
        encoding="utf-8",
    )
    # When it is checked
    problems = check_rules_file(path)
    # Then both are listed, in file order
    assert problems == [
        f"{path}:5: routes[0].destinations[0]: unknown destination 'nowhere'",
        f"{path}:8: routes[1].destinations[0]: unknown destination 'elsewhere'",
    ]
