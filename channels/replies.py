"""Protocol replies, named once so every edge answers the same way.

Who is at fault decides the class of the reply (RFC 5321 §4.2.1):

- the sender's fault (unknown recipient, too big) is permanent, ``5xx``: retrying
  cannot help;
- the store being down or busy, or this client sending too much, is temporary,
  ``4xx``: the sender's queue keeps the message and retries;
- a bug in our own accept path is also temporary, ``451 4.3.0 internal error``,
  with a text of its own. A permanent reply would bounce a message the sender got
  right, and the message would be lost; a temporary one keeps it in the sender's
  queue until the bug is fixed. It is kept apart from "store down" so an operator
  tells an outage from a bug: the edge logs the traceback and counts it in
  ``omniroute_edge_internal_errors_total``.
"""

from __future__ import annotations

# SMTP (RFC 5321 reply codes, RFC 3463 enhanced status codes)
OK_250_QUEUED = "250 2.0.0 Ok: queued as {inbound_id}"
OK_250_DUPLICATE = "250 2.0.0 Ok: already have it as {inbound_id}"
OK_250_SENDER = "250 2.1.0 Ok"
OK_250_RECIPIENT = "250 2.1.5 Ok"
TEMP_421_TOO_MANY_CONNECTIONS = (
    "421 4.7.0 Too many connections from your address ({limit}), try again later"
)
TEMP_421_TOO_MANY_MESSAGES = (
    "421 4.7.0 Too many messages from your address ({limit} a minute), try again later"
)
TEMP_421_BUSY = "421 4.3.2 Too busy to accept mail now, try again later"
TEMP_451_STORE_DOWN = "451 4.3.0 Temporary failure storing the message, try again later"
TEMP_451_BUSY = "451 4.3.2 Too busy to store the message now, try again later"
TEMP_451_INTERNAL_ERROR = "451 4.3.0 Internal error, the message was not stored, try again later"
ERR_550_UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: no such mailbox here"
ERR_552_TOO_BIG = "552 5.3.4 Message exceeds the size limit of {limit} bytes"
ERR_554_NO_VALID_RECIPIENTS = "554 5.5.1 No valid recipients"

# `omniroute ingest` exit codes (sysexits.h), as an MTA pipe expects them. An
# internal error exits EX_TEMPFAIL too: MTAs bounce on EX_SOFTWARE, and the mail
# must wait in their queue, not be lost, while the bug is fixed.
EXIT_OK = 0
EXIT_DATAERR = 65
EXIT_TEMPFAIL = 75

# Twilio webhooks: an empty TwiML answer (we reply later, from a worker, never inline).
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWIML_MEDIA_TYPE = "text/xml"
HTTP_403_TWILIO_SIGNATURE = "Twilio signature did not verify"
HTTP_413_TOO_BIG = "request body exceeds {limit} bytes"
HTTP_503_STORE_DOWN = "store unavailable, try again later"
RETRY_AFTER_SECONDS = "5"
# Slack Events API (HTTP): a store that cannot commit gets a 503 and Slack retries.
SLACK_STORE_DOWN = "store unavailable, retry later"
SLACK_RETRY_AFTER_SECONDS = 30
SLACK_NO_EVENT_KEY = "an event_callback needs an event_id"
SLACK_INTERNAL_ERROR = "internal error storing the event, retry later"
