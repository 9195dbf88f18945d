"""The store: SQLite pragmas, migrations over independent branches, saved cases, settings."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from cre_advisor.case import Case
from cre_advisor.settings import Settings, sqlite_url
from cre_advisor.store.database import MIGRATIONS_DIR, Database, alembic_config
from cre_advisor.store.saved_cases import load_case, save_case
from web_helpers import KPC_BLOODSTREAM


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(sqlite_url(tmp_path / "nested" / "store.db"))
    db.migrate()
    yield db
    db.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(database: Database) -> None:
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrations_create_the_saved_cases_table_and_are_idempotent(database: Database) -> None:
    database.migrate()
    assert "saved_cases" in inspect(database.engine).get_table_names()
    heads = ScriptDirectory.from_config(alembic_config(database.engine)).get_heads()
    with database.engine.connect() as connection:
        applied = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    assert applied == set(heads)  # every branch is at its head


def test_saved_cases_is_its_own_root_branch() -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revision = script.get_revision("saved_cases@head")
    assert revision is not None and "saved_cases" in revision.branch_labels
    assert script.get_revision(revision.revision).down_revision is None


def test_another_feature_branch_is_applied_beside_ours(tmp_path: Path) -> None:
    """`upgrade heads` applies a second root revision without touching the first."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "ffff00000001_other.py").write_text(
        'revision = "ffff00000001"\ndown_revision = None\nbranch_labels = ("other_feature",)\ndepends_on = None\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'def upgrade():\n    op.create_table("other_feature", sa.Column("id", sa.Integer, primary_key=True))\n\n'
        'def downgrade():\n    op.drop_table("other_feature")\n'
    )
    db = Database(sqlite_url(tmp_path / "two.db"))
    config = alembic_config(db.engine)
    config.set_main_option("script_location", str(scripts))
    command.upgrade(config, "heads")
    tables = set(inspect(db.engine).get_table_names())
    assert {"saved_cases", "other_feature"} <= tables
    db.dispose()


def test_save_and_load_a_case(database: Database) -> None:
    case = Case.model_validate(KPC_BLOODSTREAM)
    with database.session() as session:
        row = save_case(session, case, "2026.11.0")
        case_id = row.id
    with database.session() as session:
        loaded = load_case(session, case_id)
        assert loaded is not None
        assert loaded.case() == case and loaded.knowledge_version == "2026.11.0"
        assert load_case(session, "x" * 32) is None


def test_a_failed_session_stores_nothing(database: Database) -> None:
    case = Case.model_validate(KPC_BLOODSTREAM)
    with pytest.raises(RuntimeError), database.session() as session:
        case_id = save_case(session, case, "v").id
        raise RuntimeError("crash before commit")
    with database.session() as session:
        assert load_case(session, case_id) is None


def test_the_database_file_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.resolve(data_dir=tmp_path / "d")
    assert settings.database_url == sqlite_url(tmp_path / "d" / "cre-advisor.db")
    db = Database(settings.database_url)
    db.migrate()
    db.dispose()
    with sqlite3.connect(tmp_path / "d" / "cre-advisor.db") as connection:
        assert connection.execute("SELECT count(*) FROM saved_cases").fetchone() == (0,)


def test_settings_arguments_beat_environment_beat_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("CRE_ADVISOR_DATA_DIR", "CRE_ADVISOR_DATABASE_URL", "CRE_ADVISOR_STRICT_REVIEW", "CRE_ADVISOR_BENCH_ROUTES"):
        monkeypatch.delenv(name, raising=False)
    default = Settings.resolve()
    assert default.data_dir == tmp_path / "data" and default.database_url.endswith("/data/cre-advisor.db")
    assert not default.strict_review and not default.bench_routes
    monkeypatch.setenv("CRE_ADVISOR_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("CRE_ADVISOR_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("CRE_ADVISOR_STRICT_REVIEW", "yes")
    from_env = Settings.resolve()
    assert from_env.data_dir == tmp_path / "env" and from_env.database_url == "postgresql+psycopg://u@h/db"
    assert from_env.strict_review
    explicit = Settings.resolve(data_dir=tmp_path / "arg", database_url="sqlite:///x.db", strict_review=False)
    assert explicit.data_dir == tmp_path / "arg" and explicit.database_url == "sqlite:///x.db"
    assert not explicit.strict_review
    monkeypatch.setenv("CRE_ADVISOR_BENCH_ROUTES", "maybe")
    with pytest.raises(ValueError, match="CRE_ADVISOR_BENCH_ROUTES"):
        Settings.resolve()


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CRE_ADVISOR_TEST_POSTGRES_URL"), reason="CRE_ADVISOR_TEST_POSTGRES_URL not set")
def test_postgresql_by_url() -> None:
    db = Database(os.environ["CRE_ADVISOR_TEST_POSTGRES_URL"])
    db.migrate()
    case = Case.model_validate(KPC_BLOODSTREAM)
    with db.session() as session:
        case_id = save_case(session, case, "pg").id
    with db.session() as session:
        loaded = load_case(session, case_id)
        assert loaded is not None and loaded.case() == case
        session.delete(loaded)
    db.dispose()
