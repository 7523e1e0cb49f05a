"""Dramatiq broker, actors, outbox relay, outbound clients, and the process roles.

Error tree::

    WorkerError            base of every error raised here
     └── TransientError    retry with backoff (store or network trouble)

Failures are classified by fault: the sender's (quarantined, never retried), a
transient fault (retried with backoff), a bug (recorded with its stage and
traceback, not retried).
"""
