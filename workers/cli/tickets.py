"""``omniroute tickets list|show`` and the commands that change one ticket."""

from __future__ import annotations

import json
from typing import Any

import click

from ingest.db import read_only
from ingest.views import first_sender, list_tickets, show_ticket
from workers.cli.lazy import LazyGroup
from workers.cli.support import command_settings, store

CHANGES = {
    "set-status": (
        "workers.cli.ticket_status:set_status",
        "Set ticket NUMBER's status (new, open, pending, solved, closed).",
    ),
    "set-category": (
        "workers.cli.category:set_category",
        "Correct ticket NUMBER's category; triage keeps it and `train --from-store` learns it.",
    ),
    "reply": (
        "workers.cli.reply:reply_command",
        "Store an agent's reply on ticket NUMBER and queue it for the customer.",
    ),
}


@click.group(cls=LazyGroup, lazy=CHANGES)
def tickets() -> None:
    """Look at tickets."""


@tickets.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=50, show_default=True)
def tickets_list(as_json: bool, limit: int) -> None:
    """The most recent tickets."""
    with store(command_settings()) as sessions, read_only(sessions) as session:
        rows = list_tickets(session, limit=limit)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        # A customer known only by a phone number or a chat user has no email: show the
        # address their first message came from instead.
        senders = {
            row["number"]: first_sender(session, row["number"])
            for row in rows
            if not row["customer"]["email"]
        }
    if not rows:
        click.echo("no tickets yet")
    for row in rows:
        who = row["customer"]["email"] or senders.get(row["number"]) or "-"
        click.echo(
            f"#{row['number']:<6} {row['status']:<8} {row['channel']:<6} "
            f"{row['priority'] or '-':<8} {row['category'] or '-':<15} {row['team'] or '-':<12} "
            f"{who}  {row['subject'][:60]}"
        )


@tickets.command(name="show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tickets_show(number: int, as_json: bool) -> None:
    """One ticket with its messages, decision and deliveries."""
    with store(command_settings()) as sessions, read_only(sessions) as session:
        view = show_ticket(session, number)
    if view is None:
        raise click.ClickException(f"no ticket #{number}")
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(_render_ticket(view))


def _customer_label(view: dict[str, Any]) -> str:
    """``Jane Doe <jane@customer.test>``; without an email, the name and the address
    the first message came from (``+14155550100 (phone)``)."""
    customer = view["customer"]
    name, email = customer["name"].strip(), customer["email"]
    if email:
        return f"{name} <{email}>" if name else email
    first = next(
        (m["identity"] for m in view.get("messages", []) if m["direction"] == "inbound"), None
    )
    address = f"{first['value']} ({first['kind']})" if first else ""
    return " ".join(part for part in (name, address) if part) or "-"


def _render_ticket(view: dict[str, Any]) -> str:
    lines = [
        f"Ticket #{view['number']}  [{view['status']}]  via {view['channel']}",
        f"Customer:  {_customer_label(view)}",
        f"Subject:   {view['subject']}",
        f"Category:  {view['category']}   Priority: {view['priority']}   Team: {view['team']}",
        f"Assignee:  {view['assignee'] or '-'}   Tier: {view['tier'] or '-'}   "
        f"Language: {view['language'] or '-'}   Tags: {', '.join(view['tags']) or '-'}",
    ]
    sla = view.get("sla") or {}
    if sla.get("first_response_due_at") or sla.get("resolution_due_at"):
        lines.append(
            f"SLA:       first response due {sla['first_response_due_at'] or '-'}"
            f" (met {sla['first_responded_at'] or 'not yet'}), resolution due "
            f"{sla['resolution_due_at'] or '-'} (met {sla['resolved_at'] or 'not yet'})"
        )
    if view["threading"]:
        lines.append(f"Threading: {view['threading']['signal']} ({view['threading']['detail']})")
    decision = view["decision"]
    if decision:
        lines.append(f"Decision (rules {decision['rules_version']}):")
        lines.extend(
            f"  {'+' if r['matched'] else '-'} {r['stage']:<9} {r['rule']}: {r['reason']}"
            for r in decision["reasons"]
        )
    lines.append("Deliveries:" if view["deliveries"] else "Deliveries: none")
    for d in view["deliveries"]:
        extra = f" external {d['external_id']}" if d["external_id"] else ""
        error = f" last error: {d['last_error']}" if d["last_error"] else ""
        lines.append(
            f"  {d['destination']} {d['event']}: {d['status']} after {d['attempts']} attempt(s)"
            f"{extra}{error}"
        )
    for send in view["automated_sends"]:
        why = f" ({send['reason']})" if send["reason"] else ""
        lines.append(f"Acknowledgement: {send['status']}{why}")
    for m in view.get("messages", []):
        lines.append("")
        lines.append(
            f"--- {m['direction']} {m['kind']} {m['received_at']} from {m['from']} "
            f"[{m['thread_signal']}]"
        )
        if m["body_text"]:
            lines.append(m["body_text"])
        for a in m["attachments"]:
            refused = f" REFUSED: {a['refused_reason']}" if a["refused_reason"] else ""
            lines.append(f"  attachment {a['filename']} ({a['size']} bytes){refused}")
    return "\n".join(lines)
