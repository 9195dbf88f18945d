"""How the server is doing, as a load balancer and an operator ask: /livez, /readyz, /healthz.

Advice never needs a write: recommendations, plan pages and the review states they carry are
computed from the knowledge base and read from the database. When the database refuses writes
(disk full, read-only file system, a replica) only the requests that save something fail, with
503 and the reason, and /healthz says `degraded` for WRITE_FAILURE_MEMORY seconds after the last
refusal (or while the data directory is nearly full) instead of `ok`.

- /livez: the process answers (restart it if not).
- /readyz: the knowledge base is loaded and the database answers a read (send traffic if so).
- /healthz: readiness plus whether writes work, with the reasons when they do not.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.web.errors import SafeJSONResponse, _wants_html
from cre_advisor.web.templating import render_page

WRITE_FAILURE_MEMORY = 300.0  # seconds a refused write keeps /healthz degraded
MIN_FREE_BYTES = 64 * 1024 * 1024  # below this the SQLite data directory counts as nearly full
RETRY_AFTER_S = 60

router = APIRouter(tags=["health"])


class StoreHealth:
    """The last write the database refused (per process), and a check of the data directory's space."""

    def __init__(self, database_url: str) -> None:
        parsed = make_url(database_url)
        sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
        self.sqlite_dir = Path(sqlite_file).parent if sqlite_file and sqlite_file != ":memory:" else None
        self._failure: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def write_failed(self, reason: str) -> None:
        with self._lock:
            self._failure = (time.monotonic(), reason)

    def problems(self) -> list[str]:
        """Why writes may fail now; empty when nothing is known to be wrong."""
        found = []
        with self._lock:
            failure = self._failure
        if failure is not None and time.monotonic() - failure[0] < WRITE_FAILURE_MEMORY:
            found.append(f"a write was refused {time.monotonic() - failure[0]:.0f} s ago: {failure[1]}")
        if self.sqlite_dir is not None:
            try:
                free = shutil.disk_usage(self.sqlite_dir).free
            except OSError as error:
                found.append(f"the data directory cannot be checked: {error.strerror}")
            else:
                if free < MIN_FREE_BYTES:
                    found.append(f"the data directory has {free // (1024 * 1024)} MB free")
        return found


def describe(error: OperationalError) -> str:
    """A short reason a client may see: the kind of failure, never a host name or a statement."""
    text = str(error.orig).lower()
    for marker, reason in (("full", "the database or its disk is full"), ("readonly", "the database is read-only"),
                           ("read-only", "the database is read-only"), ("locked", "the database is busy")):
        if marker in text:
            return reason
    return "the database is unavailable"


async def _database_error(request: Request, error: OperationalError) -> Response:
    """503 for a request the database could not serve; remembered so /healthz can say so."""
    reason = describe(error)
    request.app.state.store_health.write_failed(reason)
    message = f"this could not be saved or read now: {reason}; advice without saving still works"
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _wants_html(request):
        page = render_page(request, "error.html", {"status": 503, "message": message}, 503)
        page.headers.update(headers)
        return page
    return SafeJSONResponse({"detail": message}, status_code=503, headers=headers)


def install(app: FastAPI, database_url: str) -> None:
    app.state.store_health = StoreHealth(database_url)
    app.add_exception_handler(OperationalError, _database_error)  # type: ignore[arg-type]
    app.include_router(router)


def _database_reads(request: Request) -> bool:
    try:
        return bool(request.app.state.database.ping())
    except SQLAlchemyError:
        return False


@router.get("/livez", summary="Liveness: the process answers")
def get_live() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="Readiness: knowledge loaded and the database answers a read")
def get_ready(request: Request) -> JSONResponse:
    ready = _database_reads(request)
    body = {"status": "ready" if ready else "unavailable", "knowledge_version": default_knowledge().version}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/healthz", summary="Health: readiness, and whether writes work (degraded with reasons if not)")
def get_health(request: Request) -> JSONResponse:
    if not _database_reads(request):
        body = {"status": "unavailable", "knowledge_version": default_knowledge().version,
                "database": "unreachable", "reasons": ["the database does not answer a read"]}
        return JSONResponse(body, status_code=503)
    reasons = request.app.state.store_health.problems()
    body = {"status": "degraded" if reasons else "ok", "knowledge_version": default_knowledge().version,
            "database": "writes at risk" if reasons else "ok", "reasons": reasons}
    return JSONResponse(body, status_code=200)
