"""The store and the accept path: models, migrations, sessions, identity, threading, outbox.

Error tree::

    IngestError            base of every error raised here
     └── StoreUnavailable  the database cannot take the write now; the sender must retry
"""
