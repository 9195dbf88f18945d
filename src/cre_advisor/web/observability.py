"""What a hospital's IT team watches: JSON log lines and Prometheus metrics, without patient data.

Each request is logged once, by the route template (`/v1/cases/{case_id}`), never by its path:
a saved case's id is a capability (whoever has it can open the case), and query strings and
bodies may hold patient values. The same labels feed the metrics, so their number stays fixed.

With several worker processes, `serve` sets PROMETHEUS_MULTIPROC_DIR before the workers start
and /metrics adds up every worker's counts (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from sqlalchemy import event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cre_advisor.store.cds_feedback import CdsCard

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ACCESS_LOGGER = "cre_advisor.access"
UNMATCHED = "(unmatched)"  # a path no route serves: not logged, so a mistyped id never reaches the log

REQUESTS = Counter("cre_advisor_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("cre_advisor_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ENGINE = Histogram("cre_advisor_engine_seconds", "Time the engine took for one recommendation",
                   buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
CARDS = Counter("cre_advisor_cds_cards_issued", "CDS Hooks cards issued", ["card_type"])

router = APIRouter(include_in_schema=False)


@contextmanager
def engine_timer() -> Iterator[None]:
    """Time one engine run into cre_advisor_engine_seconds."""
    with ENGINE.time():
        yield


@event.listens_for(CdsCard, "after_insert")
def _card_issued(_mapper: Any, _connection: Any, card: CdsCard) -> None:
    CARDS.labels(card.card_type).inc()


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus text format; with several workers, the sum over all of them."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__  # the type only: a message may quote input
        return json.dumps(line, ensure_ascii=True, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's `log_config`: every logger writes JSON lines to standard error; uvicorn's access log is off."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "cre_advisor")},
    }


class RequestMetrics:
    """ASGI middleware: per request, one access log line and the metrics, labelled by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            self.log.info("request", extra={"fields": {
                "method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)}})


def install(app: FastAPI) -> None:
    app.add_middleware(RequestMetrics)
    app.include_router(router)
