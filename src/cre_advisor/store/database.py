"""Engine, sessions and migrations for the server's database.

SQLite (the embedded default) runs with write-ahead logging, enforced foreign keys and a busy
timeout, so readers never block the writer and a crash leaves a consistent file. PostgreSQL is
used by URL (`postgresql+psycopg://user@host/db`). Migrations are Alembic revisions inside this
package, applied with `upgrade heads`: each feature owns an independent branch, so there is
never a single head to assume. This module owns no tables itself.

Migrations may start in several processes at once (two servers on one database, or a
restart racing another host): they run under a lock, a PostgreSQL advisory lock held on the
migration's own connection, or for SQLite an exclusive `flock` on a file beside the database,
so the second runner waits and then finds nothing left to do. A new SQLite file and its
directory are created readable by this account only (0600/0700): they hold patient data.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x43524541  # "CREA": the advisory lock id every cre-advisor migration takes


class Base(DeclarativeBase):
    """Declarative base shared by every feature's tables."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL waits for a lock another process may hold
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_database_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite files get WAL mode and foreign keys on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_file(path: Path) -> None:
    """Create the SQLite file's directory (0700) and the empty file (0600) unless they exist.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection | None]:
    """Held while migrating; yields the connection to migrate on when the lock lives on one."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield None
        return
    lock_path = Path(f"{database}.migrate-lock")
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield None
    finally:
        os.close(descriptor)  # closing releases the lock


def migrate(engine: Engine) -> None:
    """Bring the schema to every branch head (`alembic upgrade heads`), one process at a time."""
    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(engine, connection), "heads")


class Database:
    """The engine and a session factory; `session()` commits on success, rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_database_engine(url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar_one() == 1

    def dispose(self) -> None:
        self.engine.dispose()
