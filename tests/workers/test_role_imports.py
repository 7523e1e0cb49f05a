"""Each role imports only what it runs: the SMTP edge no worker, HTTP or model stack, the
web role no worker stack, triage no model or VADER unless the rules use them.

Each check runs in a fresh interpreter, does the role's real work (an SMTP
transaction over loopback, building the HTTP app, deciding a ticket) and then
lists what is in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What no role but the worker loads; the classifier only when the rules use a model.
MODEL_STACK = ["sklearn", "scipy", "skops"]
WORKER_STACK = [
    "workers.process.actors",
    "workers.triage.decide",
    "router.engine",
    "vaderSentiment",
    "fasttext",
    "numpy",
]
HTTP_STACK = ["starlette", "uvicorn"]
# What a process loads only when it is used: pika for a RabbitMQ broker, Twilio's REST
# client for a send, the public holiday tables for a calendar naming a country.
ON_USE = ["pika", "twilio.rest", "holidays"]


def loaded_after(probe: str, *names: str) -> list[str]:
    """Which of ``names`` (packages or modules) ``probe`` left imported, run on its own."""
    script = (
        f"{probe}\n"
        "import json, sys\n"
        f"names = {list(names)!r}\n"
        "print(json.dumps([n for n in names if n in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_smtp_role_takes_mail_without_the_worker_http_or_model_stacks(tmp_path: Path) -> None:
    # Given the smtp role's server on a fresh, migrated store
    probe = f"""
import smtplib, socket
from pathlib import Path
from config.settings import Settings
from ingest.migrate import upgrade
from workers.process.roles import smtp_server
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
settings = Settings(data_dir=Path({str(tmp_path)!r}), smtp_host="127.0.0.1", smtp_port=port,
                    recipients=["support@example.com"])
upgrade(settings.resolved_database_url)
# When a mail is sent to it over loopback
with smtp_server(settings):
    with smtplib.SMTP("127.0.0.1", port) as client:
        refused = client.sendmail("jane@customer.example", ["support@example.com"],
                                  b"Subject: Help\\r\\n\\r\\nMy export fails.\\r\\n")
assert refused == {{}}, refused
"""
    loaded = loaded_after(probe, *MODEL_STACK, *WORKER_STACK, *HTTP_STACK, *ON_USE, "dramatiq")
    # Then it took the mail with none of those stacks imported
    assert loaded == []


def test_web_role_builds_its_app_without_the_worker_or_model_stacks(tmp_path: Path) -> None:
    # Given the web role's runtime (the broker is connected lazily)
    probe = f"""
from pathlib import Path
from config.settings import Settings
from workers.process.roles import http_app, runtime_for
settings = Settings(data_dir=Path({str(tmp_path)!r}), recipients=["support@example.com"])
# When its HTTP app is built
with runtime_for(settings, "redis://127.0.0.1:1/0") as runtime:
    app = http_app(runtime)
"""
    loaded = loaded_after(
        probe, *MODEL_STACK, *WORKER_STACK, *ON_USE, "alembic", "jinja2", "starlette"
    )
    # Then the app is there, and neither the worker's nor the model's code was imported,
    # nor Jinja2, which loads when a form or console page is first rendered
    assert loaded == ["starlette"]


DECIDE = """
from config.rules import load_rules_text
from router.engine import decide
from router.types import TicketFacts
from workers.triage.classifier_loader import load_classifier
rules = load_rules_text('''
format: 1
categorize:
  classifier: {{model: none}}
prioritize:
  match: score
  scoring:
    levels: {{medium: 0, high: 40}}
    urgency: {{outage: 70}}
    sentiment: {sentiment}
routes:
  - name: default
    team: support
''')
facts = TicketFacts(number=1, channel="email", subject="Export",
                    body="I am upset: the export fails again.", sender_email="j@c.example")
decision = decide(facts, rules, classifier=load_classifier(rules))
assert decision.priority in ("medium", "high"), decision.priority
"""


def test_triage_without_a_model_or_sentiment_loads_neither() -> None:
    # Given rules with `model: none` and no sentiment weight
    # When a ticket is decided
    loaded = loaded_after(DECIDE.format(sentiment=0), *MODEL_STACK, "vaderSentiment")
    # Then neither scikit-learn (and its stack) nor VADER was imported
    assert loaded == []


def test_triage_with_sentiment_loads_vader_only() -> None:
    # Given the same rules with the sentiment signal on
    # When a ticket is decided
    loaded = loaded_after(DECIDE.format(sentiment=20), *MODEL_STACK, "vaderSentiment")
    # Then VADER scored it, and still no model stack was imported
    assert loaded == ["vaderSentiment"]


RUN_APART = """
import sqlite3
from functools import partial
from pathlib import Path
from workers.process.run import _upgrade
from workers.process.supervisor import StartFailed, run_apart
url = "sqlite:///{db}"
run_apart("migrating the store", partial(_upgrade, url))
tables = {{r[0] for r in sqlite3.connect("{db}").execute("select name from sqlite_master")}}
assert {{"tickets", "inbound", "alembic_version"}} <= tables, tables
try:
    run_apart("migrating the store", partial(_upgrade, "postgresql+psycopg://nobody@127.0.0.1:1/x"))
except StartFailed as exc:
    assert "migrating the store failed" in str(exc), exc
else:
    raise AssertionError("a failed migration must stop the start")
"""


def test_run_migrates_the_store_in_a_child_and_loads_no_alembic_itself(tmp_path: Path) -> None:
    # Given `run`'s start-up, migrating a fresh store apart and then an unreachable one
    # When it is done
    loaded = loaded_after(RUN_APART.format(db=tmp_path / "s.db"), "alembic", "mako", "pygments")
    # Then the store has its tables, the failure stopped the start with StartFailed, and
    # none of Alembic's stack is left in the process
    assert loaded == []


PARSE = """
from normalize.charsets import decode_text
from normalize.email import parse_email
raw = ("From: Jane <jane@customer.example>\\nTo: support@example.com\\nSubject: Café\\n"
       "MIME-Version: 1.0\\nContent-Type: text/plain; charset=utf-8\\n"
       "Content-Transfer-Encoding: 8bit\\n\\nGrüße, the export fails.\\n").encode()
parsed = parse_email(raw)
assert "Grüße" in parsed.message.body_text, parsed
{undeclared}
"""


def test_declared_charsets_need_neither_the_charset_guesser_nor_phone_metadata() -> None:
    # Given a mail whose charset is declared (and no phone number anywhere)
    # When it is parsed, then 8-bit text with no charset is decoded
    declared = loaded_after(PARSE.format(undeclared=""), "charset_normalizer", "phonenumbers")
    undeclared = loaded_after(
        PARSE.format(undeclared="decode_text('Grüße'.encode('cp1250'), None)"),
        "charset_normalizer",
    )
    # Then only the undeclared text needed the guesser, and no phone number its library
    assert (declared, undeclared) == ([], ["charset_normalizer"])


CHECK_RULES_APART = """
import sys
from functools import partial
from pathlib import Path
from config.settings import Settings
from workers.cli.roles import _check_rules_or_exit
from workers.process.supervisor import StartFailed, run_apart
good, bad = Path("{good}"), Path("{bad}")
run_apart("checking the rules", partial(_check_rules_or_exit, Settings(rules_file=good)))
try:
    run_apart("checking the rules", partial(_check_rules_or_exit, Settings(rules_file=bad)))
except StartFailed as exc:
    assert "checking the rules failed (exit status 1)" in str(exc), exc
else:
    raise AssertionError("invalid rules must stop the start")
"""


def test_run_checks_its_rules_in_a_child_and_its_edges_inherit_none_of_it(
    tmp_path: Path,
) -> None:
    # Given a valid rules file and an invalid one
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("format: 1\nroutes:\n  - name: default\n    team: support\n")
    bad.write_text("format: 1\nroutes: []\n")
    # When `run`'s start-up checks each in a child of its own
    probe = CHECK_RULES_APART.format(good=good, bad=bad)
    loaded = loaded_after(probe, "config.rules", "yaml", "workers.triage.classifier_loader")
    # Then the invalid one stopped the start, and neither the rules' schema nor the
    # YAML parser is left in the process its edges are forked from
    assert loaded == []


WORKER_DESKS = """
from pathlib import Path
from config.settings import Settings
from workers.delivery.desks import registry
from workers.process.actors import register_actors
from workers.process.roles import runtime_for
settings = Settings(data_dir=Path({data!r}), recipients=["support@example.com"])
with runtime_for(settings, "redis://127.0.0.1:1/0") as runtime:
    actors = register_actors(runtime)
assert any("ingest" in name for name in actors), actors
assert "ticket.created" in registry.events("email")
{then}
"""


def test_the_worker_loads_a_desk_client_only_for_a_destination_of_its_kind(
    tmp_path: Path,
) -> None:
    # Given a worker's actors, registered, and the email desk asked what it takes
    # When nothing else is asked, and then when a webhook destination is met
    alone = loaded_after(WORKER_DESKS.format(data=str(tmp_path), then=""), "httpx", "slack_sdk")
    webhook = loaded_after(
        WORKER_DESKS.format(data=str(tmp_path), then='registry.events("webhook")'), "httpx"
    )
    # Then httpx (and its TLS context) came only with the webhook desk, and Slack's SDK
    # not at all
    assert (alone, webhook) == ([], ["httpx"])


CALENDAR_RULES = """
from config.rules import load_rules_text
rules = load_rules_text('''
format: 1
calendars:
  office:
    timezone: Europe/Berlin
    weekly: {{mon: ["09:00-17:00"]}}
    {country}
routes:
  - name: default
    team: support
''')
assert "office" in rules.calendars
"""


def test_the_holiday_tables_load_only_for_a_calendar_that_names_a_country() -> None:
    # Given rules whose calendar lists no country, then one naming Germany
    # When each is loaded (and checked)
    without = loaded_after(CALENDAR_RULES.format(country=""), "holidays")
    with_country = loaded_after(CALENDAR_RULES.format(country="country: DE"), "holidays")
    # Then only the second needed the public holiday tables
    assert (without, with_country) == ([], ["holidays"])
