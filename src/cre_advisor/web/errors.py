"""Error responses: field-named 422s for the API, readable HTML pages for people.

Bad input is never a 500. FastAPI answers body and parameter errors (including malformed JSON
and out-of-scope organisms, which the Case models refuse) with 422 and the field's location;
here they are sent in clinical words (`cre_advisor.input_words`, shared with the form and the
command line), without echoing the input back (it may hold patient data, and text a
client sent is not always encodable) and with every non-ASCII character escaped. A ValueError
the engine raises for a case the models accepted gets the same shape. A browser asking for a
missing page gets HTML, a script gets JSON.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from cre_advisor.input_words import field_path, problem, problems
from cre_advisor.web.templating import render_page

API_PREFIXES = ("/v1/", "/cds-services", "/healthz", "/openapi", "/docs")


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped, so a stray surrogate in a message cannot break encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def unprocessable(message: str, loc: tuple[str | int, ...] = ("body",)) -> JSONResponse:
    """A 422 in FastAPI's own shape, for errors found after validation."""
    return SafeJSONResponse(status_code=422, content={"detail": [{"type": "value_error", "loc": list(loc), "msg": message}]})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", "")


async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 shape, with `loc` ending at the field to change and `msg` in clinical words."""
    detail = []
    for error in exc.errors():
        found = problem(error)  # its path without FastAPI's leading "body", as the other doors print it
        detail.append({
            "type": error["type"], "loc": list(field_path(error, drop=())), "msg": found.line, "field": found.field,
            **({"ctx": error["ctx"]} if "ctx" in error else {}),
        })
    return SafeJSONResponse(status_code=422, content={"detail": jsonable_encoder(detail)})


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 400 and isinstance(exc.__cause__, (json.JSONDecodeError, UnicodeDecodeError)):
        # FastAPI's answer to a body it could not decode (bytes that are not UTF-8 JSON text):
        # the same 422 as any other malformed body.
        return SafeJSONResponse(status_code=422, content={"detail": [
            {"type": "json_invalid", "loc": ["body"], "msg": f"the body is not JSON text: {exc.__cause__}"}
        ]})
    if _wants_html(request):
        return render_page(request, "error.html", {"status": exc.status_code, "message": exc.detail}, exc.status_code)
    return SafeJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _model_error(request: Request, exc: ValidationError) -> Response:
    """A case refused after the request was read (a saved case from before a check was added): 422, not 500."""
    message = "the case does not pass the input checks: " + "; ".join(p.line for p in problems(exc.errors()))
    if _wants_html(request):
        return render_page(request, "error.html", {"status": 422, "message": message}, 422)
    return unprocessable(message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, _model_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
