"""`create_app(settings)`: the FastAPI application `cre-advisor serve` runs.

It opens the database, applies every migration branch, and mounts the routers: the REST API,
the bedside pages, the static files, and each optional feature router that is installed
(a module in OPTIONAL_ROUTERS exposing `router`). Routers reach shared state through
`request.app.state`: `settings`, `database`, and `review_states` (None, or a callable giving
the advisory board's state of each knowledge item, which every door passes to the engine).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from cre_advisor.settings import Settings
from cre_advisor.store.database import Database
from cre_advisor.web import api, docs_page, pages
from cre_advisor.web.errors import install_error_handlers

STATIC_DIR = Path(__file__).parent / "static"
REVIEW_MODULE = "cre_advisor.review.web"
OPTIONAL_ROUTERS = ("cre_advisor.web.cds_hooks", REVIEW_MODULE, "cre_advisor.web.ask")


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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.resolve()
    settings.ensure_data_dir()
    database = Database(settings.database_url)
    database.migrate()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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
        docs_url=None,  # docs_page serves /docs: the same offline Swagger UI, with lang, main and h1
    )
    app.state.settings = settings
    app.state.database = database
    app.state.review_states = _review_states(app)
    install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # a plan page is ~35 kB of text: about 6 kB sent
    app.include_router(api.router)
    app.include_router(api.health_router)
    if settings.bench_routes:
        app.include_router(api.bench_router)
    for router in _optional_routers():
        app.include_router(router)  # type: ignore[arg-type]
    app.include_router(pages.router)
    app.include_router(docs_page.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
