"""The shell around the pure core, in rooms:

- ``process/``: process roles, the runtime they share, the broker, the actors and the outbox relay;
- ``triage/``: facts from the store, the rules and model in force, decisions kept, replay;
- ``sla/``: the SLA clock and the scheduler's sweep;
- ``delivery/``: hand-offs to other help desks (``desks/``: one client per kind);
- ``outbound/``: messages to customers on their channel (acknowledgements, agent replies);
- ``cli/``: the ``omniroute`` command line, one module per command group.

Error tree::

    WorkerError            base of every error raised here
     └── TransientError    retry with backoff (store or network trouble)

Failures are classified by fault: the sender's (quarantined, never retried), a
transient fault (retried with backoff), a bug (recorded with its stage and
traceback, not retried).
"""
