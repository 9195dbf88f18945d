"""`create_app(settings)`: the FastAPI application `cre-advisor serve` runs.

It opens the database, applies every migration branch (unless `serve` already did, before
starting several workers), starts the hourly purge of expired saved cases, adds the health
endpoints, metrics, JSON access log and default security headers, and mounts the routers: the REST API,
the bedside pages, the static files, and each optional feature router that is installed
(a module in OPTIONAL_ROUTERS exposing `router`). Routers reach shared state through
`request.app.state`: `settings`, `database`, and `review_states` (None, or a callable giving
the advisory board's state of each knowledge item, which every door passes to the engine).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from cre_advisor.settings import Settings
from cre_advisor.store.database import Database
from cre_advisor.store.saved_cases import purge_expired
from cre_advisor.web import api, health, observability, pages
from cre_advisor.web.errors import install_error_handlers
from cre_advisor.web.headers import SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"
REVIEW_MODULE = "cre_advisor.review.web"
OPTIONAL_ROUTERS = ("cre_advisor.web.cds_hooks", REVIEW_MODULE, "cre_advisor.web.ask")
PURGE_EVERY_S = 3600.0
log = logging.getLogger("cre_advisor.retention")


def _optional_routers() -> list[object]:
    """Routers of features that are present; a present module that fails to import is an error."""
    found = []
    for name in OPTIONAL_ROUTERS:
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name).router)
    return found


def _review_states(app: FastAPI) -> Callable[[], Mapping[str, str]] | None:
    """The review store's item states, when the editorial review feature is installed."""
    if importlib.util.find_spec(REVIEW_MODULE) is None:
        return None
    review_states_for = importlib.import_module(REVIEW_MODULE).review_states_for
    return lambda: review_states_for(app)


async def _purge_forever(database: Database, retention_days: int) -> None:
    """Delete saved cases past the retention period now and then every PURGE_EVERY_S; a failure waits for the next turn."""
    while True:
        try:
            removed = await anyio.to_thread.run_sync(purge_expired, database, retention_days)
            log.info("purged expired saved cases", extra={"fields": {"removed": removed}})
        except SQLAlchemyError as error:
            log.warning("purge of saved cases failed", extra={"fields": {"error": type(error).__name__}})
        await asyncio.sleep(PURGE_EVERY_S)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    """The application; `migrate=False` when the caller applied the migrations already (serve --workers)."""
    settings = settings or Settings.resolve()
    settings.ensure_data_dir()
    database = Database(settings.database_url)
    if migrate:
        database.migrate()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purging = asyncio.create_task(_purge_forever(database, settings.retention_days))
        yield
        purging.cancel()
        database.dispose()

    app = FastAPIOffline(  # /docs served from the package, not a CDN: hospital networks are often closed
        title="cre-advisor",
        version=version("cre-advisor"),
        summary="Treatment advice for carbapenem-resistant Enterobacterales infections in the ICU.",
        description=(
            "Decision support that shows its sources. Every answer carries the review status of the "
            "content it used and supports, never replaces, clinical judgement and local guidance."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.review_states = _review_states(app)
    install_error_handlers(app)
    health.install(app, settings.database_url)
    observability.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    if settings.bench_routes:
        app.include_router(api.bench_router)
    for router in _optional_routers():
        app.include_router(router)  # type: ignore[arg-type]
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def create_worker_app() -> FastAPI:
    """The application of one `serve --workers N` process: settings from the environment, schema already migrated."""
    return create_app(Settings.resolve(), migrate=False)
