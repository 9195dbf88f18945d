"""`cre-advisor serve`: the web page and REST API on uvicorn, with embedded defaults.

With no options it keeps its SQLite database in ./data and listens on loopback only; a
different host must be asked for explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cre_advisor.settings import DATA_DIR_ENV, DATABASE_URL_ENV, STRICT_REVIEW_ENV, Settings


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
) -> None:
    """Start the bedside web page and REST API."""
    import uvicorn
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cre_advisor.web.app import create_app

    settings = Settings.resolve(data_dir=data_dir, database_url=database, strict_review=strict_review)
    try:
        app = create_app(settings)
    except (SQLAlchemyError, CommandError, ValueError, OSError) as error:
        what = "cannot start" if isinstance(error, ValueError) else f"cannot open the database {settings.database_url!r}"
        typer.echo(f"cre-advisor serve: {what}: {error}", err=True)
        raise typer.Exit(2) from None
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"cre-advisor: open http://{shown}:{port}/ in a browser (API docs at /docs); data in {settings.data_dir}")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
