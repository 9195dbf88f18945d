"""Error responses: field-named 422s for the API, readable HTML pages for people.

Bad input is never a 500. FastAPI already answers body and parameter errors (including
malformed JSON and out-of-scope organisms, which the Case models refuse) with 422 and the
field's location; a ValueError the engine raises for a case the models accepted is turned
into the same shape. A browser asking for a missing page gets HTML, a script gets JSON.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from cre_advisor.web.templating import templates

API_PREFIXES = ("/v1/", "/cds-services", "/healthz", "/openapi", "/docs")


def unprocessable(message: str, loc: tuple[str | int, ...] = ("body",)) -> JSONResponse:
    """A 422 in FastAPI's own shape, for errors found after validation."""
    return JSONResponse(
        status_code=422, content={"detail": [{"type": "value_error", "loc": list(loc), "msg": message}]}
    )


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if not _wants_html(request):
        return await http_exception_handler(request, exc)
    return templates.TemplateResponse(
        request, "error.html", {"status": exc.status_code, "message": exc.detail}, status_code=exc.status_code
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
