"""``omniroute tickets set-category NUMBER CATEGORY``: an agent corrects a category."""

from __future__ import annotations

import click

from config.errors import ConfigError
from config.rules import RuleSet, default_rules, load_rules
from config.settings import load_settings
from ingest.corrections import correct_category
from ingest.db import create_store_engine, session_factory, unit_of_work
from ingest.models import Ticket


@click.command(name="set-category")
@click.argument("number", type=int)
@click.argument("category")
@click.option("--by", "author", default="an agent", show_default=True, help="Who corrected it.")
def set_category(number: int, category: str, author: str) -> None:
    """Correct ticket NUMBER's category; triage keeps it and `train --from-store` learns it."""
    try:
        settings = load_settings()
        rules: RuleSet = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if category not in rules.categories:
        known = ", ".join(rules.categories)
        raise click.ClickException(f"unknown category {category!r} (known: {known})")
    engine = create_store_engine(settings.resolved_database_url)
    try:
        with unit_of_work(session_factory(engine)) as session:
            ticket = session.get(Ticket, number, with_for_update=True)
            if ticket is None:
                raise click.ClickException(f"no ticket #{number}")
            before = ticket.category
            changed = correct_category(session, ticket, category, author)
    finally:
        engine.dispose()
    if changed is None:
        click.echo(f"ticket #{number} is already {category}")
    else:
        click.echo(f"ticket #{number}: category {before or 'none'} -> {category} (by {author})")
