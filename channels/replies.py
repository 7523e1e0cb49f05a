"""Protocol replies, named once so every edge answers the same way."""

from __future__ import annotations

# SMTP (RFC 5321 reply codes, RFC 3463 enhanced status codes)
OK_250_QUEUED = "250 2.0.0 Ok: queued as {inbound_id}"
OK_250_DUPLICATE = "250 2.0.0 Ok: already have it as {inbound_id}"
OK_250_RECIPIENT = "250 2.1.5 Ok"
TEMP_451_STORE_DOWN = "451 4.3.0 Temporary failure storing the message, try again later"
ERR_550_UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: no such mailbox here"
ERR_552_TOO_BIG = "552 5.3.4 Message exceeds the size limit of {limit} bytes"
ERR_554_NO_VALID_RECIPIENTS = "554 5.5.1 No valid recipients"

# `omniroute ingest` exit codes (sysexits.h), as an MTA pipe expects them.
EXIT_OK = 0
EXIT_DATAERR = 65
EXIT_TEMPFAIL = 75

# Slack Events API (HTTP): a store that cannot commit gets a 503 and Slack retries.
SLACK_STORE_DOWN = "store unavailable, retry later"
SLACK_RETRY_AFTER_SECONDS = 30
SLACK_NO_EVENT_KEY = "an event_callback needs an event_id"
