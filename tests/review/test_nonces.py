"""Single-use values in the database (CDS token ids, sign-in form tokens), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cre_advisor.store.database import Database
from cre_advisor.store.nonces import DatabaseReplayStore, UsedNonce, consume, sweep


def test_a_token_id_is_accepted_once_until_it_expires(database: Database) -> None:
    replays = DatabaseReplayStore(database)
    now = time.time()
    assert replays.first_use("https://ehr.test", "abc", now + 60, now) is True
    assert replays.first_use("https://ehr.test", "abc", now + 60, now + 30) is False
    assert replays.first_use("https://other.test", "abc", now + 60, now) is True  # ids are per issuer
    assert replays.first_use("https://ehr.test", "abc", now + 200, now + 61) is True  # the first use expired


def test_two_workers_using_one_id_at_once_get_one_acceptance(database: Database) -> None:
    stores = [DatabaseReplayStore(database), DatabaseReplayStore(Database(database.url))]
    barrier = threading.Barrier(len(stores) * 4)
    results: list[bool] = []
    now = time.time()

    def use(store: DatabaseReplayStore) -> None:
        barrier.wait()
        results.append(store.first_use("https://ehr.test", "raced", now + 60, now))

    threads = [threading.Thread(target=use, args=(store,)) for store in stores for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def test_form_tokens_are_stored_hashed_and_expired_ones_swept(database: Database) -> None:
    now = datetime.now(UTC)
    with database.session() as session:
        assert consume(session, "review-login-form", "secret-form-token", now + timedelta(hours=1), now)
        consume(session, "review-login-form", "old", now - timedelta(seconds=1), now - timedelta(hours=1))
    with database.session() as session:
        stored = list(session.scalars(select(UsedNonce.value)))
        assert "secret-form-token" not in stored and len(stored) == 2
        assert sweep(session, now) == 1
