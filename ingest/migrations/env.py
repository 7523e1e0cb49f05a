"""Alembic environment: migrations run on SQLite (batch mode) and PostgreSQL."""

from alembic import context

from ingest import mailboxes  # noqa: F401 - registers the IMAP state and lease tables
from ingest.db import create_store_engine
from ingest.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set"

connectable = config.attributes.get("connection")
if connectable is None:
    engine = create_store_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connectable, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
