"""`create_app(settings)`: the FastAPI application `cre-advisor serve` runs.

It opens the database, applies every migration branch (unless `serve` already did, before
starting several workers), starts the hourly purge of expired saved cases, adds the health
endpoints, metrics, JSON access log and default security headers, and mounts the routers: the REST API,
the bedside pages, the static files, and each optional feature router that is installed
(a module in OPTIONAL_ROUTERS exposing `router`). Routers reach shared state through
`request.app.state`: `settings`, `database`, `review_states` (None, or a callable giving
the advisory board's state of each knowledge item, which every door passes to the engine) and
`review_module` (the editorial review feature's module, or None).

Every route's request body is capped (`Settings.max_body_bytes`, 413 beyond it) before any
handler sees it: a declared Content-Length over the cap is refused unread, and a streamed body
is cut off as soon as it passes the cap, so no route can be made to hold a huge body in memory.
An optional router module may expose `install(app)` for what it needs at start (the CDS door
loads its configuration there, so a broken one stops the server before it listens).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cre_advisor.settings import Settings
from cre_advisor.store.database import Database
from cre_advisor.store.saved_cases import purge_expired
from cre_advisor.web import api, docs_page, health, observability, pages
from cre_advisor.web.errors import install_error_handlers
from cre_advisor.web.headers import SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"
REVIEW_MODULE = "cre_advisor.review.web"
OPTIONAL_ROUTERS = ("cre_advisor.web.cds_hooks", REVIEW_MODULE, "cre_advisor.web.ask")
PURGE_EVERY_S = 3600.0
log = logging.getLogger("cre_advisor.retention")


def _optional_modules() -> list[Any]:
    """Feature modules that are present; a present module that fails to import is an error."""
    return [importlib.import_module(name) for name in OPTIONAL_ROUTERS if importlib.util.find_spec(name) is not None]


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the cap; FastAPI re-raises HTTPExceptions."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodySizeLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, declared or streamed, on every route."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, 413 if declared.isdigit() else 400)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, 413)

    async def _refuse(self, send: Send, status: int) -> None:
        why = f"request body larger than {self.max_bytes} bytes" if status == 413 else "invalid Content-Length"
        body = json.dumps({"detail": why}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


def _review_states(app: FastAPI) -> Callable[[], Mapping[str, str]] | None:
    """The review store's item states, when the editorial review feature is installed.

    The feature's module is kept on `app.state.review_module` too (None without it), so pages can
    reach the store without importing this module back."""
    app.state.review_module = None
    if importlib.util.find_spec(REVIEW_MODULE) is None:
        return None
    module = app.state.review_module = importlib.import_module(REVIEW_MODULE)
    return lambda: module.review_states_for(app)


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
        docs_url=None,  # docs_page serves /docs: the same offline Swagger UI, with lang, main and h1
    )
    app.state.settings = settings
    app.state.database = database
    app.state.review_states = _review_states(app)
    install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # a plan page is ~35 kB of text: about 6 kB sent
    health.install(app, settings.database_url)
    observability.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    if settings.bench_routes:
        app.include_router(api.bench_router)
    for module in _optional_modules():
        app.include_router(module.router)
        if hasattr(module, "install"):
            module.install(app)
    app.include_router(pages.router)
    app.include_router(docs_page.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def create_worker_app() -> FastAPI:
    """The application of one `serve --workers N` process: settings from the environment, schema already migrated."""
    return create_app(Settings.resolve(), migrate=False)
