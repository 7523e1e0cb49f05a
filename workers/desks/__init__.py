"""Outbound clients that hand routed tickets to other help desks, one per file.

Every client turns one delivery attempt into an :class:`~workers.desks.base.AttemptResult`
instead of raising, so the delivery actor decides by fault (STYLE 10)::

    Outcome.DELIVERED   2xx: the receiver has it (and maybe told us its ticket id)
    Outcome.RETRY       transient: timeouts, connection errors, 408/425/429/5xx
    Outcome.REJECTED    the receiver's or our configuration's fault: other 4xx, 3xx;
                        never retried

Only bugs (an unserializable payload, a programming error) escape as exceptions,
so they are dead-lettered with their traceback.

- ``base.py``     the outcome types and the retry backoff
- ``signing.py``  HMAC request signing shared with receivers
- ``webhook.py``  the signed-webhook destination
"""
