"""Specifications of the rules/destinations YAML loader."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config.errors import RulesFileError
from config.rules import default_rules, load_rules, load_rules_text

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "rules" / "example.yaml"

MINIMAL = """\
routes:
  - name: default
    team: support
"""


def rules_error(text: str) -> RulesFileError:
    with pytest.raises(RulesFileError) as caught:
        load_rules_text(textwrap.dedent(text), source="rules.yaml")
    return caught.value


def test_example_rules_load_with_named_destinations() -> None:
    # Given the example rules file
    # When it is loaded
    rules = load_rules(EXAMPLE)
    # Then its webhook destination is typed and carries its name
    helpdesk = rules.destinations["helpdesk"]
    assert helpdesk.name == "helpdesk"
    assert str(helpdesk.url) == "http://127.0.0.1:9/hook"
    assert helpdesk.secret_env == "OMNIROUTE_TEST_WEBHOOK_SECRET"
    assert rules.source == str(EXAMPLE)


def test_default_rules_load() -> None:
    # Given the rules shipped with the package
    # When they are loaded
    rules = default_rules()
    # Then they route what no category route takes to general, with no hand-off
    assert rules.routes[-1].name == "default"
    assert (rules.routes[-1].team, rules.routes[-1].destinations) == ("general", ())
    assert rules.destinations == {}
    assert {rule.category for rule in rules.categorize.rules} >= {
        "billing",
        "account",
        "technical",
        "feature_request",
        "complaint",
        "system",
    }


def test_minimal_file_gets_default_categories_and_priorities() -> None:
    # Given a file with only the default route
    # When it is loaded
    rules = load_rules_text(MINIMAL)
    # Then stages fall back to their defaults
    assert rules.categorize.default == "general"
    assert rules.prioritize.default == "medium"
    assert "system" in rules.categories


def test_version_changes_when_text_changes() -> None:
    # Given two files that differ only in a comment
    first = load_rules_text(MINIMAL)
    second = load_rules_text(MINIMAL + "# reviewed\n")
    # When their versions are compared
    # Then they differ, and each is a short hex digest
    assert first.version != second.version
    assert len(first.version) == 12
    int(first.version, 16)


def test_version_is_stable_for_the_same_text() -> None:
    # Given the same text loaded twice
    # When their versions are compared
    # Then they are equal
    assert load_rules_text(MINIMAL).version == load_rules_text(MINIMAL).version


def test_categories_are_configurable() -> None:
    # Given a file that declares its own categories
    text = """\
        categories: [sales, general]
        categorize:
          rules:
            - name: pricing
              when: {keywords: [quote]}
              category: sales
        routes:
          - {name: default, team: support}
        """
    # When it is loaded
    rules = load_rules_text(textwrap.dedent(text))
    # Then rules may use them
    assert rules.categories == ("sales", "general")


def test_bad_regex_is_reported_with_its_line() -> None:
    # Given a regex with an unbalanced parenthesis on line 5
    error = rules_error(
        """\
        categorize:
          rules:
            - name: invoice
              when:
                regexes: ['(inv-\\d+']
              category: billing
        routes:
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then the error names the file, the line and the path
    assert error.path == "rules.yaml"
    assert error.line == 5
    assert error.detail.startswith("categorize.rules[0].when.regexes[0]: invalid regex")


def test_overlong_regex_is_rejected() -> None:
    # Given a regex longer than the limit
    error = rules_error(
        f"""\
        categorize:
          rules:
            - name: long
              when: {{regexes: ['{"a" * 600}']}}
              category: billing
        routes:
          - {{name: default, team: support}}
        """
    )
    # When it is loaded / Then it is refused at its line
    assert error.line == 4
    assert "longer than 500" in error.detail


def test_unknown_key_is_reported_with_its_line() -> None:
    # Given a route with a misspelt key on line 4
    error = rules_error(
        """\
        routes:
          - name: default
            team: support
            destination: [helpdesk]
        """
    )
    # When it is loaded / Then the unknown key and its line are named
    assert (error.line, error.detail) == (4, "routes[0].destination: unknown key")


def test_unknown_destination_is_reported_with_the_line_of_the_reference() -> None:
    # Given a route naming a destination that is not declared, on line 9
    error = rules_error(
        """\
        destinations:
          helpdesk: {url: "http://127.0.0.1:9/hook", secret_env: SECRET}
        routes:
          - name: billing
            when: {category: billing}
            team: billing
            destinations:
              - helpdesk
              - foo
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then the reference is named with its line
    assert (error.line, error.detail) == (9, "routes[0].destinations[1]: unknown destination 'foo'")


def test_unknown_category_is_reported_with_its_line() -> None:
    # Given a rule that sets a category not in the list, on line 5
    error = rules_error(
        """\
        categorize:
          rules:
            - name: sales
              when: {keywords: [quote]}
              category: sales
        routes:
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then the category and its line are named
    assert error.line == 5
    assert error.detail.startswith("categorize.rules[0].category: unknown category 'sales'")


def test_unknown_priority_is_reported_with_its_line() -> None:
    # Given a VIP level that is not a priority, on line 3
    error = rules_error(
        """\
        prioritize:
          vip:
            priority: urgent
        routes:
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then the priority and its line are named
    assert error.line == 3
    assert error.detail.startswith("prioritize.vip.priority: unknown priority 'urgent'")


def test_yaml_syntax_error_is_reported_with_its_line() -> None:
    # Given a flow sequence that is never closed on line 2
    error = rules_error(
        """\
        routes:
          - {name: default, team: [support}
        """
    )
    # When it is loaded / Then the YAML problem and its line are named
    assert error.line == 2
    assert error.detail.startswith("invalid YAML")


def test_duplicate_key_is_an_error() -> None:
    # Given a route that says team twice; YAML alone would keep the last silently
    error = rules_error(
        """\
        routes:
          - name: default
            team: support
            team: billing
        """
    )
    # When it is loaded / Then the second key is reported
    assert (error.line, error.detail) == (4, "routes[0].team: duplicate key")


def test_default_route_is_required() -> None:
    # Given routes without a default
    error = rules_error(
        """\
        routes:
          - name: billing
            when: {category: billing}
            team: billing
        """
    )
    # When it is loaded / Then the last route is pointed at
    assert error.line == 2
    assert "must be named default" in error.detail


def test_route_after_an_unconditional_route_is_unreachable() -> None:
    # Given a route after one that always matches
    error = rules_error(
        """\
        routes:
          - {name: everything, team: support}
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then the unreachable route is reported
    assert error.line == 3
    assert "unreachable" in error.detail


def test_category_condition_is_refused_while_categorizing() -> None:
    # Given a category rule that tests the category it is about to set
    error = rules_error(
        """\
        categorize:
          rules:
            - name: loop
              when: {category: billing}
              category: billing
        routes:
          - {name: default, team: support}
        """
    )
    # When it is loaded / Then it is refused at its line
    assert error.line == 4
    assert "not known yet" in error.detail


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    # Given a path with no file
    path = tmp_path / "absent.yaml"
    # When it is loaded / Then the error names the path
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert caught.value.path == str(path)
    assert "cannot read" in caught.value.detail


def test_error_names_the_file_it_came_from(tmp_path: Path) -> None:
    # Given a file with an unknown top-level key on line 1
    path = tmp_path / "rules.yaml"
    path.write_text("colour: red\n" + MINIMAL, encoding="utf-8")
    # When it is loaded / Then str() gives FILE:LINE: path: problem
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    assert str(caught.value) == f"{path}:1: colour: unknown key"
