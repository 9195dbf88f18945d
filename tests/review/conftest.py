"""Fixtures for the review tests: a migrated database on SQLite or on a real PostgreSQL server.

The PostgreSQL variant runs only when CRE_ADVISOR_TEST_POSTGRES_URL is set (`.ci/postgres.sh`
starts a server and sets it); each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from review_helpers import CHEAP_HASHER

from cre_advisor.review.accounts import Accounts
from cre_advisor.review.store import ReviewStore
from cre_advisor.settings import sqlite_url
from cre_advisor.store.database import Database

POSTGRES_URL_ENV = "CRE_ADVISOR_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (run .ci/postgres.sh)")
    return url


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema of the test server."""
    base = postgres_url()
    schema = f"review_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A migrated database: an SQLite file (WAL) or a schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "review.db")
    else:
        url = request.getfixturevalue("postgres_schema_url")
    opened = Database(url)
    opened.migrate()
    yield opened
    opened.dispose()


@pytest.fixture
def store(database: Database) -> ReviewStore:
    return ReviewStore(database.engine)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(CHEAP_HASHER)
