"""Alembic environment: runs revisions on the engine `store.database.migrate` hands over.

When `migrate` holds a lock on a connection (PostgreSQL's advisory lock), the revisions run on
that connection. Outside the server (the `alembic` command with `-x url=...`) an engine is
made from that URL.
SQLite uses batch mode so later revisions can alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cre_advisor.store import nonces, saved_cases  # noqa: F401 - registers their tables on Base.metadata
from cre_advisor.review import models as review_models  # noqa: F401 - the review branch's tables
from cre_advisor.store.database import Base, create_database_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


given = config.attributes.get("connection")  # the connection holding the migration lock, if any
if given is not None:
    run(given)
else:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_database_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.connect() as connection:
        run(connection)
