"""`cre-advisor serve`: the web page and REST API on uvicorn, with embedded defaults.

With no options it keeps its SQLite database in ./data and listens on loopback only; a
different host must be asked for explicitly. `--workers N` starts N processes: the schema is
migrated once here, before any worker starts (under the database's migration lock, so two
servers starting together on one database are safe too), and the workers only open it.
Every answer is the same from any worker: review states, CDS token ids already used, sign-in
throttling and sessions all live in the database. Files are created readable by this account
only (umask 077), and logs are JSON lines on standard error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from cre_advisor.settings import (
    APPROVALS_ENV,
    DATA_DIR_ENV,
    DATABASE_URL_ENV,
    RETENTION_ENV,
    STRICT_REVIEW_ENV,
    Settings,
)

WORKER_APP = "cre_advisor.web.app:create_worker_app"
# A worker loads the knowledge base before it answers uvicorn's liveness ping; uvicorn's 5 s
# default restarts workers that are merely slow to start on a busy host, over and over.
WORKER_HEALTHCHECK_S = 60


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    database: Annotated[
        str | None,
        typer.Option(
            help="Database URL, e.g. postgresql+psycopg://user@host/db "
            f"(env {DATABASE_URL_ENV}; default: SQLite in the data directory)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help=f"Data directory (env {DATA_DIR_ENV}; default ./data).")
    ] = None,
    strict_review: Annotated[
        bool | None,
        typer.Option("--strict-review/--no-strict-review", help=f"Use only board-approved content (env {STRICT_REVIEW_ENV})."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (one per core is a good start).")] = 1,
    approvals_required: Annotated[
        int | None, typer.Option(help=f"Distinct reviewers who must approve a version (env {APPROVALS_ENV}; default 2).")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(help=f"Days a saved case is kept before it is purged (env {RETENTION_ENV}; default 30).")
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(help="Address of a load balancer whose X-Forwarded-For is believed (repeatable); "
                     "sign-in throttling then counts the real client's address, not the balancer's."),
    ] = None,
) -> None:
    """Start the bedside web page and REST API."""
    import uvicorn
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cre_advisor.store.database import Database
    from cre_advisor.web.app import create_app
    from cre_advisor.web.observability import MULTIPROC_ENV, log_config

    os.umask(0o077)  # the database, its journal and the metrics files hold or describe patient data
    try:
        settings = Settings.resolve(data_dir=data_dir, database_url=database, strict_review=strict_review,
                                    approvals_required=approvals_required, retention_days=retention_days)
    except ValueError as error:
        typer.echo(f"cre-advisor serve: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        settings.ensure_data_dir()
        if workers == 1:
            app = create_app(settings)
        else:
            opened = Database(settings.database_url)
            opened.migrate()
            opened.dispose()
    except (SQLAlchemyError, CommandError, ValueError, OSError) as error:
        what = "cannot start" if isinstance(error, ValueError) else f"cannot open the database {settings.database_url!r}"
        typer.echo(f"cre-advisor serve: {what}: {error}", err=True)
        raise typer.Exit(2) from None
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"cre-advisor: open http://{shown}:{port}/ in a browser (API docs at /docs); data in {settings.data_dir}")
    options = {"host": host, "port": port, "log_config": log_config(), "access_log": False,
               "proxy_headers": bool(trusted_proxy), "forwarded_allow_ips": ",".join(trusted_proxy or ()) or None}
    if workers == 1:
        uvicorn.run(app, **options)
        return
    # The workers are new processes: they read the settings chosen here from the environment.
    os.environ.update({DATA_DIR_ENV: str(settings.data_dir), DATABASE_URL_ENV: settings.database_url,
                       STRICT_REVIEW_ENV: "1" if settings.strict_review else "0",
                       APPROVALS_ENV: str(settings.approvals_required), RETENTION_ENV: str(settings.retention_days)})
    metrics_dir = settings.data_dir / "metrics" / str(os.getpid())  # this run's own: counts start at zero
    metrics_dir.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
        uvicorn.run(WORKER_APP, factory=True, workers=workers, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
                    **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
