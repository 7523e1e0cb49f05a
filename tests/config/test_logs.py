"""Log lines: JSON objects with the work's ids and no customer addresses; levels in any case."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from config.logs import configure_logging, log_context, redact_addresses
from config.settings import Settings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    configure_logging("WARNING", "text", "test", stream=io.StringIO())


def test_json_lines_carry_role_ids_and_extra_fields(stream: io.StringIO) -> None:
    # Given JSON logging for a worker
    configure_logging("INFO", "json", "worker", stream=stream)
    # When a record is logged while a delivery of a ticket is in hand
    with log_context(ticket_id=7, delivery_id=3):
        logging.getLogger("omniroute.test").info("sent to %s", "zendesk", extra={"status": 201})
    # Then the line is one JSON object with the role, the ids and the extra field
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "sent to zendesk"
    assert record["level"] == "INFO" and record["logger"] == "omniroute.test"
    assert (record["role"], record["ticket_id"], record["delivery_id"]) == ("worker", 7, 3)
    assert record["status"] == 201
    assert "inbound_id" not in record


def test_addresses_are_redacted_in_text_and_json(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", "smtp", stream=stream)
    logging.getLogger("omniroute.test").info("refused recipient %s", "jane.doe@customer.test")
    configure_logging("INFO", "text", "smtp", stream=stream)
    logging.getLogger("omniroute.test").info("from Jane <jane.doe@customer.test>")
    json_line, text_line = stream.getvalue().splitlines()
    assert json.loads(json_line)["message"] == "refused recipient j***@customer.test"
    assert text_line.endswith("from Jane <j***@customer.test>")
    assert "jane.doe" not in stream.getvalue()


def test_a_traceback_stays_inside_its_json_line(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", "worker", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("omniroute.test").exception("failed")
    [line] = stream.getvalue().splitlines()
    assert "RuntimeError: boom" in json.loads(line)["exc_info"]


def test_text_lines_name_the_ids_in_brackets(stream: io.StringIO) -> None:
    configure_logging("DEBUG", "text", "worker", stream=stream)
    with log_context(inbound_id=12):
        logging.getLogger("omniroute.test").debug("parsed")
    assert stream.getvalue().rstrip().endswith("parsed [inbound_id=12]")


def test_an_unknown_context_field_is_a_bug() -> None:
    with pytest.raises(ValueError, match="not a log context field"), log_context(user="x"):
        pass


@pytest.mark.parametrize("value", ["debug", "DEBUG", " Debug "])
def test_log_levels_are_case_insensitive(value: str) -> None:
    assert Settings(log_level=value).log_level == "DEBUG"  # type: ignore[arg-type]


def test_log_format_is_case_insensitive() -> None:
    assert Settings(log_format="JSON").log_format == "json"  # type: ignore[arg-type]


def test_redaction_keeps_the_domain() -> None:
    assert redact_addresses("a@b.example and x.y+z@mail.co.uk") == (
        "a***@b.example and x***@mail.co.uk"
    )


def test_context_ends_with_its_block(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", "worker", stream=stream)
    log = logging.getLogger("omniroute.test")
    with log_context(inbound_id=5), log_context(channel="email"):
        log.info("inside")
    log.info("after")
    inside, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (inside["inbound_id"], inside["channel"]) == (5, "email")
    assert "channel" not in after and "inbound_id" not in after
