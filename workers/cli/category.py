"""``omniroute tickets set-category NUMBER CATEGORY``: an agent corrects a category."""

from __future__ import annotations

import click

from config.errors import ConfigError
from config.rules import RuleSet, default_rules, load_rules
from ingest.corrections import correct_category
from workers.cli.support import command_settings, locked_ticket


@click.command(name="set-category")
@click.argument("number", type=int)
@click.argument("category")
@click.option("--by", "author", default="an agent", show_default=True, help="Who corrected it.")
def set_category(number: int, category: str, author: str) -> None:
    """Correct ticket NUMBER's category; triage keeps it and `train --from-store` learns it."""
    settings = command_settings()
    try:
        rules: RuleSet = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if category not in rules.categories:
        known = ", ".join(rules.categories)
        raise click.ClickException(f"unknown category {category!r} (known: {known})")
    with locked_ticket(settings, number) as (session, ticket):
        before = ticket.category
        changed = correct_category(session, ticket, category, author)
    if changed is None:
        click.echo(f"ticket #{number} is already {category}")
    else:
        click.echo(f"ticket #{number}: category {before or 'none'} -> {category} (by {author})")
