"""Outbound clients that hand routed tickets to other help desks, one per file.

Every client turns one delivery attempt into an :class:`~workers.delivery.desks.base.AttemptResult`
instead of raising, so the delivery actor decides by fault (STYLE 10)::

    Outcome.DELIVERED   2xx: the receiver has it (and maybe told us its ticket id)
    Outcome.RETRY       transient: timeouts, connection errors, 408/425/429/5xx,
                        SMTP 4xx, Slack's ratelimited and internal errors
    Outcome.REJECTED    the receiver's or our configuration's fault: other 4xx, 3xx;
                        never retried

Only bugs (an unserializable payload, a programming error) escape as exceptions,
so they are dead-lettered with their traceback.

- ``base.py``           the outcome types, the retry backoff, secrets from the environment
- ``handoff.py``        what a client gets: the ``Handoff`` facts and the ``DeskContext`` tools
- ``http.py``           one bounded HTTP request, its answer classified by fault
- ``shared_client.py``  the worker process's one HTTP client, made at first use
- ``signing.py``        HMAC request signing shared with receivers
- ``registry.py``       which client serves which destination type, and which events
- ``webhook.py``        the signed webhook
- ``email_forward.py``  a forward to another desk's inbox (attach or resend)
- ``zendesk.py``        the Zendesk Tickets API
- ``freshdesk.py``      the Freshdesk API v2
- ``slack.py``          a Slack channel, through slack_sdk's WebClient

Each client is idempotent across attempts: once an attempt has started, the next one
looks for what the earlier one may have created before creating it again.
"""
