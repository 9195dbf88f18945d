"""Running in a hospital: advice without writes, health endpoints, retention, file modes, logs, metrics."""

from __future__ import annotations

import logging
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cre_advisor.cli import app as cli
from cre_advisor.settings import Settings
from cre_advisor.store.saved_cases import SavedCase, purge_expired
from cre_advisor.web.app import create_app
from web_helpers import KPC_BLOODSTREAM, KPC_FORM, make_settings

HTML = {"Accept": "text/html"}
WRITES = ("INSERT", "UPDATE", "DELETE")


def _refuse_writes(kind: str):
    """A connection listener that makes the database refuse writes the way a full or read-only one does."""
    if kind == "read-only":  # SQLite itself refuses: "attempt to write a readonly database"
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only=ON")
        return "connect", on_connect

    def before_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(WRITES):  # what SQLite answers when the disk is full
            raise OperationalError(statement, parameters, sqlite3.OperationalError("database or disk is full"))
    return "before_cursor_execute", before_execute


@pytest.fixture(params=["full", "read-only"])
def broken_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """A fresh server whose database stopped taking writes before the first request."""
    application = create_app(make_settings(tmp_path))
    engine = application.state.database.engine
    engine.dispose()
    name, listener = _refuse_writes(request.param)
    event.listen(engine, name, listener)
    with TestClient(application) as client:
        yield client


def test_advice_is_served_when_the_store_refuses_writes(broken_store: TestClient) -> None:
    recommendation = broken_store.post("/v1/recommendations", json=KPC_BLOODSTREAM)
    assert recommendation.status_code == 200, recommendation.text
    assert recommendation.json()["options"]
    page = broken_store.post("/plan", data=KPC_FORM, headers=HTML)
    assert page.status_code == 200 and "meropenem" in page.text.lower()

    saved = broken_store.post("/v1/cases", json=KPC_BLOODSTREAM)
    assert saved.status_code == 503
    assert "could not be saved" in saved.json()["detail"] and saved.headers["retry-after"]

    health = broken_store.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded" and body["reasons"]
    assert any("full" in reason or "read-only" in reason for reason in body["reasons"])
    assert broken_store.get("/readyz").status_code == 200
    assert broken_store.get("/livez").json() == {"status": "alive"}
    assert broken_store.post("/v1/recommendations", json=KPC_BLOODSTREAM).status_code == 200  # and again


def test_a_healthy_store_says_ok_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").json()["status"] == "ready"


def test_readiness_fails_when_the_database_does_not_answer(tmp_path: Path) -> None:
    application = create_app(make_settings(tmp_path))
    application.state.database.ping = lambda: (_ for _ in ()).throw(OperationalError("SELECT 1", {}, OSError("gone")))
    with TestClient(application) as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").json()["status"] == "unavailable"
        assert client.get("/livez").status_code == 200


# ---- patient data at rest --------------------------------------------------------------------
def test_saved_cases_are_private_and_uncached(client: TestClient) -> None:
    created = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()
    fetched = client.get(f"/v1/cases/{created['id']}")
    assert fetched.headers["cache-control"] == "no-store"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert client.post("/v1/recommendations", json=KPC_BLOODSTREAM).headers["cache-control"] == "no-store"


def test_a_saved_case_can_be_deleted_by_its_id(client: TestClient) -> None:
    created = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()
    assert client.delete(f"/v1/cases/{created['id']}").status_code == 204
    assert client.get(f"/v1/cases/{created['id']}").status_code == 404
    assert client.delete(f"/v1/cases/{created['id']}").status_code == 404


def test_purge_removes_only_cases_past_retention(app: FastAPI, client: TestClient) -> None:
    old = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()["id"]
    recent = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()["id"]
    database = app.state.database
    with database.session() as session:
        session.execute(update(SavedCase).where(SavedCase.id == old)
                        .values(created_at=datetime.now(UTC) - timedelta(days=31)))
    assert purge_expired(database, retention_days=30) >= 1
    assert client.get(f"/v1/cases/{old}").status_code == 404
    assert client.get(f"/v1/cases/{recent}").status_code == 200


def test_purge_and_delete_commands(tmp_path: Path) -> None:
    settings = Settings.resolve(data_dir=tmp_path / "data")
    application = create_app(settings)
    with TestClient(application) as client:
        old, kept, doomed = (client.post("/v1/cases", json=KPC_BLOODSTREAM).json()["id"] for _ in range(3))
    with application.state.database.session() as session:
        session.execute(update(SavedCase).where(SavedCase.id == old)
                        .values(created_at=datetime.now(UTC) - timedelta(days=8)))
    application.state.database.dispose()
    where = ["--data-dir", str(settings.data_dir)]
    runner = CliRunner()
    purged = runner.invoke(cli, ["cases", "purge", "--retention-days", "7", *where])
    assert purged.exit_code == 0 and "removed 1 saved case(s) older than 7 day(s)" in purged.output
    assert runner.invoke(cli, ["cases", "delete", doomed, *where]).exit_code == 0
    missing = runner.invoke(cli, ["cases", "delete", doomed, *where])
    assert missing.exit_code == 2 and "no saved case" in missing.output
    assert runner.invoke(cli, ["cases", "delete", "../etc/passwd", *where]).exit_code == 2
    bad = runner.invoke(cli, ["cases", "purge", "--retention-days", "0", *where])
    assert bad.exit_code == 2 and "CRE_ADVISOR_RETENTION_DAYS=0" in bad.output
    with application.state.database.session() as session:
        assert {row.id for row in session.query(SavedCase)} == {kept}


def test_the_database_and_its_directory_are_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    application = create_app(settings)
    with TestClient(application) as client:
        client.post("/v1/cases", json=KPC_BLOODSTREAM)
        for path in settings.data_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700


def test_the_access_log_names_routes_not_case_ids(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    created = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()
    with caplog.at_level(logging.INFO, logger="cre_advisor.access"):
        client.get(f"/v1/cases/{created['id']}")
        client.get(f"/cases/{created['id']}", headers=HTML)
        client.get(f"/v1/cases/{created['id']}x")  # a mistyped id: no route matches
    routes = [record.fields["route"] for record in caplog.records if record.name == "cre_advisor.access"]
    assert routes == ["/v1/cases/{case_id}", "/cases/{case_id}", "/v1/cases/{case_id}"]
    assert created["id"] not in caplog.text


def test_metrics_count_requests_per_route_engine_time_and_are_prometheus_text(client: TestClient) -> None:
    client.post("/v1/recommendations", json=KPC_BLOODSTREAM)
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'cre_advisor_http_requests_total{method="POST",route="/v1/recommendations",status="200"}' in text
    assert 'cre_advisor_http_request_seconds_bucket{le="0.005",method="POST",route="/v1/recommendations"}' in text
    assert "cre_advisor_engine_seconds_count" in text
    assert "cre_advisor_cds_cards_issued" in text
